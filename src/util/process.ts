// Whether a process lives: a score run left 'running' is in progress while the process that started it lives.

/**
 * Whether the process `pid` lives on this machine. A run left 'running' by a process that is gone was interrupted
 * (killed); one whose process lives is computing. This process never counts: it is listing runs or starting one, and
 * a pid equal to its own is one reused (PID 1 in a container, say).
 */
export function processLives(pid: number | null | undefined): boolean {
  if (pid === null || pid === undefined || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it lives, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

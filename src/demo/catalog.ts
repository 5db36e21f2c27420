// The demo retailer's product catalogue: 8 top categories, 30 subcategories, ~420 products with lognormal prices.
import { KairosError } from '../errors.js';
import type { RandomStream } from './rng.js';

/** A top category: its subcategories (with product nouns), largest quantity per line, lognormal price (median, log-sd), return rate and share of demand. */
interface TopCategory {
  readonly name: string;
  readonly maxQuantity: number;
  readonly median: number;
  readonly sigma: number;
  readonly returnRate: number;
  readonly share: number;
  readonly subs: readonly (readonly [string, readonly string[]])[];
}

/** The category tree with its true price and return parameters (documented in docs/demo.md). */
export const CATEGORY_TREE: readonly TopCategory[] = [
  {
    name: 'Home', maxQuantity: 3, median: 28, sigma: 0.7, returnRate: 0.05, share: 0.18,
    subs: [
      ['Kitchen', ['Frying Pan', 'Chef Knife', 'Cutting Board', 'Mug', 'Tea Towel', 'Salad Bowl', 'Coffee Grinder']],
      ['Bedding', ['Duvet Cover', 'Pillow', 'Fitted Sheet', 'Throw Blanket', 'Mattress Topper']],
      ['Decor', ['Vase', 'Candle', 'Picture Frame', 'Table Lamp', 'Wall Clock', 'Cushion']],
      ['Garden', ['Plant Pot', 'Watering Can', 'Garden Gloves', 'Pruning Shears', 'Bird Feeder']],
    ],
  },
  {
    name: 'Fashion', maxQuantity: 2, median: 35, sigma: 0.6, returnRate: 0.15, share: 0.17,
    subs: [
      ['Women', ['Blouse', 'Dress', 'Cardigan', 'Jeans', 'Skirt']],
      ['Men', ['Shirt', 'Chinos', 'Hoodie', 'Polo Shirt', 'Jacket']],
      ['Shoes', ['Sneakers', 'Loafers', 'Ankle Boots', 'Sandals']],
      ['Accessories', ['Scarf', 'Belt', 'Wallet', 'Beanie', 'Tote Bag', 'Sunglasses']],
    ],
  },
  {
    name: 'Electronics', maxQuantity: 2, median: 45, sigma: 0.9, returnRate: 0.06, share: 0.12,
    subs: [
      ['Audio', ['Headphones', 'Bluetooth Speaker', 'Earbuds', 'Soundbar']],
      ['Phone Accessories', ['Phone Case', 'USB-C Cable', 'Power Bank', 'Screen Protector', 'Wireless Charger']],
      ['Computer Accessories', ['Laptop Sleeve', 'Wireless Mouse', 'Keyboard', 'Webcam', 'USB Hub']],
      ['Smart Home', ['Smart Plug', 'Smart Bulb', 'Motion Sensor', 'Video Doorbell']],
    ],
  },
  {
    name: 'Beauty', maxQuantity: 3, median: 18, sigma: 0.6, returnRate: 0.02, share: 0.13,
    subs: [
      ['Skincare', ['Face Cream', 'Serum', 'Cleanser', 'Sunscreen', 'Eye Cream']],
      ['Makeup', ['Lipstick', 'Mascara', 'Foundation', 'Eyeliner']],
      ['Fragrance', ['Eau de Parfum', 'Eau de Toilette', 'Body Mist']],
      ['Hair Care', ['Shampoo', 'Conditioner', 'Hair Oil', 'Hair Dryer']],
    ],
  },
  {
    name: 'Sports', maxQuantity: 2, median: 32, sigma: 0.8, returnRate: 0.07, share: 0.1,
    subs: [
      ['Fitness', ['Yoga Mat', 'Dumbbell Set', 'Resistance Band', 'Kettlebell']],
      ['Outdoor', ['Hiking Backpack', 'Water Bottle', 'Headlamp', 'Camping Mug']],
      ['Cycling', ['Bike Light', 'Helmet', 'Bike Lock', 'Cycling Gloves']],
      ['Running', ['Running Socks', 'Running Shirt', 'Armband', 'Running Cap']],
    ],
  },
  {
    name: 'Books & Media', maxQuantity: 2, median: 14, sigma: 0.5, returnRate: 0.02, share: 0.1,
    subs: [
      ['Fiction', ['Novel', 'Crime Novel', 'Short Stories', 'Fantasy Saga']],
      ['Non-fiction', ['Cookbook', 'Biography', 'Travel Guide', 'History Book']],
      ['Music', ['Vinyl Record', 'CD Box Set', 'Songbook']],
      ['Games', ['Board Game', 'Card Game', 'Video Game']],
    ],
  },
  {
    name: 'Toys & Kids', maxQuantity: 2, median: 20, sigma: 0.6, returnRate: 0.04, share: 0.08,
    subs: [
      ['Toys', ['Building Blocks', 'Plush Bear', 'Toy Car', 'Doll House']],
      ['Baby', ['Baby Bodysuit', 'Teether', 'Baby Blanket', 'Bottle Set']],
      ['Puzzles', ['Jigsaw Puzzle', 'Puzzle Cube', 'Floor Puzzle']],
    ],
  },
  {
    name: 'Grocery', maxQuantity: 6, median: 7, sigma: 0.5, returnRate: 0.01, share: 0.12,
    subs: [
      ['Coffee & Tea', ['Espresso Beans', 'Green Tea', 'Filter Coffee', 'Herbal Tea']],
      ['Snacks', ['Dark Chocolate', 'Trail Mix', 'Crackers', 'Granola Bar']],
      ['Pantry', ['Olive Oil', 'Pasta', 'Balsamic Vinegar', 'Honey']],
    ],
  },
];

const BRANDS: readonly string[] = [
  'Nordlys', 'Aurelia', 'Kestrel', 'Maison Blanc', 'Tidewater', 'Fjell', 'Solano', 'Brightwood', 'Vireo', 'Lumo',
  'Castellan', 'Oaken', 'Halcyon', 'Pico', 'Marlowe', 'Sable & Co', 'Ardent', 'Quill', 'Bramble', 'Zephyr',
];
const ADJECTIVES: readonly string[] = [
  'Classic', 'Essential', 'Premium', 'Everyday', 'Organic', 'Compact', 'Deluxe', 'Eco', 'Vintage', 'Pro', 'Soft', 'Urban',
];
/** Variants: several carry a comma or a double quote, so product names exercise CSV quoting. */
const VARIANTS: readonly string[] = [
  ', Black', ', White', ', 2-pack', ', Large', ', Small', ' (Limited Edition)', ', 500 g', ' 15"', ', Set of 4', ' "Signature"',
];

/** One product of the catalogue; prices in cents. */
export interface Product {
  readonly id: string;
  readonly name: string;
  /** `Top > Sub` path. */
  readonly category: string;
  readonly top: number;
  readonly priceCents: number;
  readonly popularity: number;
}

/** The catalogue plus, per top category, product indices sorted by price (for filling a basket to a budget). */
export interface Catalog {
  readonly products: readonly Product[];
  readonly byTopSortedByPrice: readonly Int32Array[];
  readonly topNames: readonly string[];
  readonly topShares: readonly number[];
  readonly returnRates: readonly number[];
  readonly maxQuantities: readonly number[];
}

/** Rounds a price to shop-like endings: x.99 above 10, x.49 / x.99 below. */
function shopPriceCents(euros: number): number {
  if (euros >= 10) return Math.max(999, Math.round(euros) * 100 - 1);
  return Math.max(149, Math.round(euros * 2) * 50 - 1);
}

/** Builds the catalogue from its own random stream: 12-16 products per subcategory, price = median * exp(sigma * Z) per top category. */
export function buildCatalog(rng: RandomStream): Catalog {
  const products: Product[] = [];
  const names = new Set<string>();
  const byTop: number[][] = [];
  CATEGORY_TREE.forEach((top, t) => {
    const indices: number[] = [];
    for (const [sub, nouns] of top.subs) {
      const subLevel = Math.exp(0.25 * rng.normal(0, 1));
      const count = 12 + rng.int(5);
      for (let k = 0; k < count; k++) {
        const noun = nouns[rng.int(nouns.length)] ?? 'Item';
        let name = `${BRANDS[rng.int(BRANDS.length)]} ${ADJECTIVES[rng.int(ADJECTIVES.length)]} ${noun}`;
        if (rng.uniform() < 0.35 || names.has(name)) name += VARIANTS[rng.int(VARIANTS.length)];
        for (let n = 2; names.has(name); n++) name = `${name.replace(/ #\d+$/, '')} #${n}`;
        names.add(name);
        const euros = Math.min(999, top.median * subLevel * Math.exp(top.sigma * rng.normal(0, 1)));
        indices.push(products.length);
        products.push({
          id: `P${String(products.length + 1).padStart(4, '0')}`,
          name,
          category: `${top.name} > ${sub}`,
          top: t,
          priceCents: shopPriceCents(euros),
          popularity: rng.gamma(0.7, 1) + 0.05,
        });
      }
    }
    byTop.push(indices);
  });
  const byTopSortedByPrice = byTop.map((indices) =>
    Int32Array.from(indices.sort((i, j) => (products[i]?.priceCents ?? 0) - (products[j]?.priceCents ?? 0) || i - j)),
  );
  return {
    products,
    byTopSortedByPrice,
    topNames: CATEGORY_TREE.map((c) => c.name),
    topShares: CATEGORY_TREE.map((c) => c.share),
    returnRates: CATEGORY_TREE.map((c) => c.returnRate),
    maxQuantities: CATEGORY_TREE.map((c) => c.maxQuantity),
  };
}

/**
 * Picks a product of top category `top` priced near `targetCents`: one of the 5 nearest by price, weighted by popularity.
 * Returns an index into `catalog.products`.
 */
export function pickProductNear(catalog: Catalog, top: number, targetCents: number, rng: RandomStream): number {
  const sorted = catalog.byTopSortedByPrice[top];
  if (sorted === undefined || sorted.length === 0) throw new KairosError('INTERNAL', `demo catalogue has no products in category ${top}`);
  const products = catalog.products;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((products[sorted[mid] ?? 0]?.priceCents ?? 0) < targetCents) lo = mid + 1;
    else hi = mid;
  }
  const from = Math.max(0, Math.min(lo - 2, sorted.length - 5));
  const to = Math.min(sorted.length, from + 5);
  let total = 0;
  for (let i = from; i < to; i++) total += products[sorted[i] ?? 0]?.popularity ?? 0;
  let x = rng.uniform() * total;
  for (let i = from; i < to; i++) {
    x -= products[sorted[i] ?? 0]?.popularity ?? 0;
    if (x < 0) return sorted[i] ?? 0;
  }
  return sorted[to - 1] ?? 0;
}

// The country an IP address is registered in, from the address ranges the
// package @ip-location-db/geo-whois-asn-country ships (RIR whois and ASN
// data; CC BY 4.0, NRO). Nothing is looked up over the network: the ranges
// are read from node_modules the first time an address is asked about, in
// slices so a hub with thousands of agents never stalls for the whole parse.
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { isIPv4, isIPv6 } from 'node:net';

const PACKAGE = '@ip-location-db/geo-whois-asn-country';
const IPV4_FILE = 'geo-whois-asn-country-ipv4-num.csv';
const IPV6_FILE = 'geo-whois-asn-country-ipv6-num.csv';
/** Lines parsed between yields to the event loop. */
const LINES_PER_SLICE = 20_000;

/** Sorted, non-overlapping ranges with a country index each. */
interface RangeTable<T> {
  starts: T[];
  ends: T[];
  countries: number[];
}

interface Tables {
  codes: string[];
  v4: { starts: Uint32Array; ends: Uint32Array; countries: Uint16Array };
  v6: RangeTable<bigint>;
}

function dataDir(): string {
  return dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`));
}

/** Reads one numeric CSV (`start,end,CC`), merging adjacent rows of the same country. */
async function readRanges<T extends number | bigint>(file: string, parse: (s: string) => T, next: (value: T) => T, codes: Map<string, number>): Promise<RangeTable<T>> {
  const table: RangeTable<T> = { starts: [], ends: [], countries: [] };
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let count = 0;
  for await (const line of lines) {
    const [start, end, code] = line.split(',');
    if (start === undefined || end === undefined || code === undefined || !/^[A-Z]{2}$/.test(code)) continue;
    let index = codes.get(code);
    if (index === undefined) codes.set(code, index = codes.size);
    const last = table.ends.length - 1;
    const s = parse(start);
    // Adjacent ranges of one country become one: fewer rows to search and keep.
    if (last >= 0 && table.countries[last] === index && next(table.ends[last] as T) === s) {
      table.ends[last] = parse(end);
    } else {
      table.starts.push(s);
      table.ends.push(parse(end));
      table.countries.push(index);
    }
    if (++count % LINES_PER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return table;
}

async function loadTables(): Promise<Tables> {
  const dir = dataDir();
  const codes = new Map<string, number>();
  const v4 = await readRanges(join(dir, IPV4_FILE), Number, (n) => n + 1, codes);
  const v6 = await readRanges(join(dir, IPV6_FILE), BigInt, (n) => n + 1n, codes);
  return {
    codes: [...codes.keys()],
    v4: { starts: Uint32Array.from(v4.starts), ends: Uint32Array.from(v4.ends), countries: Uint16Array.from(v4.countries) },
    v6,
  };
}

/** The index of the last range starting at or before `value`, or -1. */
function lastAtOrBefore<T extends number | bigint>(starts: ArrayLike<T>, value: T): number {
  let low = 0;
  let high = starts.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if ((starts[mid] as T) <= value) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

function ipv4Number(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function ipv6Number(ip: string): bigint {
  const [head = '', tail] = ip.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  let left = groups(head);
  let right = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  const v4tail = (list: string[]): string[] => {
    const last = list.at(-1);
    if (last === undefined || !last.includes('.')) return list;
    const n = ipv4Number(last);
    return [...list.slice(0, -1), (n >>> 16).toString(16), (n & 0xffff).toString(16)];
  };
  if (tail === undefined) left = v4tail(left);
  else right = v4tail(right);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((n, group) => (n << 16n) + BigInt(parseInt(group, 16)), 0n);
}

/** Country codes (ISO 3166-1 alpha-2) of IP addresses. */
export class IpCountries {
  private tables: Promise<Tables> | undefined;
  private loaded: Tables | undefined;
  private readonly load: () => Promise<Tables>;

  constructor(load: () => Promise<Tables> = loadTables) {
    this.load = load;
  }

  /**
   * The country of `ip`, or undefined when it is not a public address the
   * data knows, or while the data is still loading (the first call starts
   * the load; `ready()` waits for it).
   */
  lookup(ip: string): string | undefined {
    if (this.loaded === undefined) {
      void this.ready().catch(() => undefined);
      return undefined;
    }
    const { codes, v4, v6 } = this.loaded;
    if (isIPv4(ip)) {
      const n = ipv4Number(ip);
      const i = lastAtOrBefore(v4.starts, n);
      return i >= 0 && n <= (v4.ends[i] ?? 0) ? codes[v4.countries[i] ?? -1] : undefined;
    }
    if (isIPv6(ip)) {
      const n = ipv6Number(ip.split('%')[0] ?? ip);
      const i = lastAtOrBefore(v6.starts, n);
      return i >= 0 && n <= (v6.ends[i] ?? 0n) ? codes[v6.countries[i] ?? -1] : undefined;
    }
    return undefined;
  }

  /** Resolves once the ranges are in memory. */
  async ready(): Promise<void> {
    this.tables ??= this.load();
    this.loaded = await this.tables;
  }
}

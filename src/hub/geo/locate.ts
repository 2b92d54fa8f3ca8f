// Places a cluster on the world map from what its agent reports: the cloud
// region of its nodes first (a city), else the country its egress IP is
// registered in (that country's centre). All data ships with the hub.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ClusterFacts } from '../../link/protocol.ts';
import { IpCountries } from './ip-country.ts';
import { placeOfRegion, type Place } from './regions.ts';

/** Where a cluster is drawn, and what the placement rests on. */
export interface ClusterLocation extends Place {
  source: 'region' | 'egress-ip';
}

interface CountryRow {
  cca2: string;
  name: { common: string };
  latlng: [number, number];
}

/** Country centres and names by ISO 3166-1 alpha-2 code, from the world-countries package (ODbL). */
function loadCountries(): Map<string, Place> {
  const file = createRequire(import.meta.url).resolve('world-countries/countries.json');
  const rows = JSON.parse(readFileSync(file, 'utf8')) as CountryRow[];
  return new Map(rows.map((row) => [row.cca2, { lat: row.latlng[0], lon: row.latlng[1], name: row.name.common }]));
}

export class ClusterLocator {
  private readonly ips: IpCountries;
  private countries: Map<string, Place> | undefined;

  constructor(ips = new IpCountries()) {
    this.ips = ips;
  }

  /**
   * The cluster's place, or null when it reports neither a known region nor
   * a located egress IP. Takes facts of any shape (stored by an older hub
   * that did not check them) and never throws on them.
   */
  locate(facts: ClusterFacts | null): ClusterLocation | null {
    if (typeof facts !== 'object' || facts === null) return null;
    const { region: regionName, egressIp } = facts as { region?: unknown; egressIp?: unknown };
    const region = typeof regionName === 'string' ? placeOfRegion(regionName) : undefined;
    if (region) return { ...region, name: `${String(regionName)} (${region.name})`, source: 'region' };
    if (typeof egressIp !== 'string') return null;
    const code = this.ips.lookup(egressIp);
    if (code === undefined) return null;
    this.countries ??= loadCountries();
    const country = this.countries.get(code);
    return country ? { ...country, source: 'egress-ip' } : null;
  }

  /** Loads the IP ranges now (lookups before this return no country). */
  async ready(): Promise<void> {
    await this.ips.ready();
  }
}

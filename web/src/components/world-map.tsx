// The fleet on a world map: country outlines from world-atlas (Natural Earth,
// shipped in the bundle and loaded after the table), clusters grouped by the
// place the hub gave them (a cloud region's city, or the country of the
// egress IP). Equirectangular, so a place is two multiplications away.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import type { FleetItem } from '../types.ts';

const WIDTH = 360;
const TOP = 84; // latitude of the top edge: the Arctic ocean holds no clusters
const BOTTOM = -58;

const x = (lon: number): number => lon + 180;
const y = (lat: number): number => TOP - lat;

type Ring = number[][];

/**
 * A ring as path data. A ring that crosses the antimeridian (Fiji, Chukotka)
 * jumps across the whole map between two points; the pen lifts there
 * instead of drawing a line across the world.
 */
function ringPath(ring: Ring): string {
  let d = '';
  let previous: number | undefined;
  for (const [lon = 0, lat = 0] of ring) {
    d += `${previous === undefined || Math.abs(lon - previous) > 180 ? 'M' : 'L'}${x(lon).toFixed(1)},${y(lat).toFixed(1)}`;
    previous = lon;
  }
  return d;
}

/** Antarctica (ISO 3166 numeric 010) lies below the map's bottom edge. */
const HIDDEN = new Set(['010']);

let outlines: Promise<string[]> | undefined;

/** Country outlines as SVG path data, built once per page. */
function loadOutlines(): Promise<string[]> {
  outlines ??= import('world-atlas/countries-110m.json').then((module) => {
    const topology = module.default as unknown as Topology<{ countries: GeometryCollection }>;
    const countries = feature(topology, topology.objects.countries);
    return countries.features.flatMap((country) => {
      if (HIDDEN.has(String(country.id))) return [];
      const geometry = country.geometry;
      if (geometry.type === 'Polygon') return [geometry.coordinates.map(ringPath).join('')];
      if (geometry.type === 'MultiPolygon') return [geometry.coordinates.map((poly) => poly.map(ringPath).join('')).join('')];
      return [];
    });
  });
  return outlines;
}

interface PlaceGroup {
  name: string;
  lat: number;
  lon: number;
  items: FleetItem[];
  online: number;
}

function groupByPlace(items: readonly FleetItem[]): { places: PlaceGroup[]; unplaced: number } {
  const places = new Map<string, PlaceGroup>();
  let unplaced = 0;
  for (const item of items) {
    const location = item.location;
    if (location === null) { unplaced++; continue; }
    let group = places.get(location.name);
    if (!group) places.set(location.name, group = { name: location.name, lat: location.lat, lon: location.lon, items: [], online: 0 });
    group.items.push(item);
    if (item.status === 'online') group.online++;
  }
  return { places: [...places.values()].sort((a, b) => a.name.localeCompare(b.name)), unplaced };
}

export function WorldMap(props: { items: readonly FleetItem[]; selected: string; onSelect(place: string): void }) {
  const [paths, setPaths] = useState<string[] | null>(null);
  useEffect(() => { void loadOutlines().then(setPaths); }, []);
  const { places, unplaced } = useMemo(() => groupByPlace(props.items), [props.items]);
  const placed = props.items.length - unplaced;
  return (
    <figure class="world-map">
      <svg viewBox={`0 0 ${WIDTH} ${TOP - BOTTOM}`} role="group" aria-label={`World map: ${placed} clusters in ${places.length} places`}>
        <rect class="sea" width={WIDTH} height={TOP - BOTTOM} />
        <g class="land" aria-hidden="true">{paths?.map((d, i) => <path key={i} d={d} />)}</g>
        {places.map((place) => {
          const offline = place.items.length - place.online;
          const label = `${place.name}: ${place.items.length} cluster${place.items.length === 1 ? '' : 's'}, ${place.online} online${offline > 0 ? `, ${offline} not online` : ''}`;
          return (
            <g key={place.name} class={`marker ${offline > 0 ? 'has-offline' : ''} ${props.selected === place.name ? 'selected' : ''}`}
              role="button" tabIndex={0} aria-label={label} aria-pressed={props.selected === place.name} data-place={place.name}
              onClick={() => { props.onSelect(place.name); }}
              onKeyDown={(e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); props.onSelect(place.name); } }}>
              <title>{label}</title>
              <circle cx={x(place.lon)} cy={y(place.lat)} r={Math.min(2 + Math.sqrt(place.items.length), 8)} />
              {place.items.length > 1 && <text x={x(place.lon)} y={y(place.lat) + 1}>{place.items.length}</text>}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {placed} of {props.items.length} clusters placed by cloud region or egress IP
        {unplaced > 0 && ` · ${unplaced} without a location (no known region, no --report-public-ip)`}
        <span class="credit"> · Map: Natural Earth · IP data: NRO (CC BY 4.0)</span>
      </figcaption>
    </figure>
  );
}

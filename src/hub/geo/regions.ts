// Where the cloud regions are: the city each provider's region is named
// after or documented in, with its latitude and longitude rounded to a tenth
// of a degree. Region names are distinct enough across providers (AWS
// `eu-west-1`, GCP `europe-west1`, Azure `westeurope`) to share one table.
// The map only needs the city; a region missing here falls back to the
// cluster's egress IP, or to "no location".

/** A place on the map. */
export interface Place {
  lat: number;
  lon: number;
  /** A human name for the place: a city or a country. */
  name: string;
}

type Row = readonly [name: string, lat: number, lon: number, regions: string];

// One row per city; the last column lists every region in that city.
const CITIES: readonly Row[] = [
  ['N. Virginia', 38.9, -77.4, 'us-east-1 us-east4 eastus eastus2 nyc1 nyc3 ash us-east'],
  ['Ohio', 40.0, -83.0, 'us-east-2 us-east5'],
  ['N. California', 37.4, -122.0, 'us-west-1 westus sfo2 sfo3 us-west'],
  ['Oregon', 45.6, -121.2, 'us-west-2 us-west1'],
  ['Los Angeles', 34.1, -118.2, 'us-west2'],
  ['Salt Lake City', 40.8, -111.9, 'us-west3'],
  ['Las Vegas', 36.2, -115.1, 'us-west4'],
  ['Iowa', 41.3, -95.9, 'us-central1 centralus'],
  ['South Carolina', 33.2, -80.0, 'us-east1'],
  ['Dallas', 32.8, -96.8, 'us-south1 southcentralus us-southeast'],
  ['Chicago', 41.9, -87.6, 'northcentralus us-ord'],
  ['Washington', 47.2, -119.9, 'westus2'],
  ['Phoenix', 33.4, -112.1, 'westus3'],
  ['Wyoming', 41.1, -104.8, 'westcentralus'],
  ['Montreal', 45.5, -73.6, 'ca-central-1 northamerica-northeast1 canadaeast'],
  ['Toronto', 43.7, -79.4, 'northamerica-northeast2 canadacentral tor1 ca-central'],
  ['Calgary', 51.0, -114.1, 'ca-west-1'],
  ['Mexico City', 19.4, -99.1, 'mx-central-1 mexicocentral'],
  ['São Paulo', -23.5, -46.6, 'sa-east-1 southamerica-east1 brazilsouth br-gru'],
  ['Santiago', -33.4, -70.6, 'southamerica-west1 chilecentral'],
  ['Dublin', 53.3, -6.3, 'eu-west-1 northeurope'],
  ['London', 51.5, -0.1, 'eu-west-2 europe-west2 uksouth lon1 eu-west gb-lon'],
  ['Cardiff', 51.5, -3.2, 'ukwest'],
  ['Paris', 48.9, 2.4, 'eu-west-3 europe-west9 francecentral fr-par'],
  ['Frankfurt', 50.1, 8.7, 'eu-central-1 europe-west3 germanywestcentral fra1 eu-central de-fra'],
  ['Falkenstein', 50.5, 12.4, 'fsn1'],
  ['Nuremberg', 49.5, 11.1, 'nbg1'],
  ['Zurich', 47.4, 8.5, 'eu-central-2 europe-west6 switzerlandnorth'],
  ['Stockholm', 59.3, 18.1, 'eu-north-1 swedencentral se-sto'],
  ['Helsinki', 60.2, 24.9, 'hel1'],
  ['Hamina', 60.6, 27.2, 'europe-north1'],
  ['Milan', 45.5, 9.2, 'eu-south-1 europe-west8 italynorth it-mil'],
  ['Madrid', 40.4, -3.7, 'eu-south-2 europe-southwest1 spaincentral es-mad'],
  ['St. Ghislain', 50.4, 3.8, 'europe-west1'],
  ['Eemshaven', 53.4, 6.8, 'europe-west4'],
  ['Amsterdam', 52.4, 4.9, 'westeurope ams3 nl-ams'],
  ['Warsaw', 52.2, 21.0, 'europe-central2 polandcentral'],
  ['Turin', 45.1, 7.7, 'europe-west12'],
  ['Berlin', 52.5, 13.4, 'europe-west10'],
  ['Oslo', 59.9, 10.8, 'norwayeast'],
  ['Tel Aviv', 32.1, 34.8, 'il-central-1 me-west1 israelcentral'],
  ['Bahrain', 26.1, 50.6, 'me-south-1'],
  ['UAE', 25.0, 55.2, 'me-central-1 uaenorth'],
  ['Doha', 25.3, 51.5, 'me-central1 qatarcentral'],
  ['Dammam', 26.4, 50.1, 'me-central2'],
  ['Cape Town', -33.9, 18.4, 'af-south-1'],
  ['Johannesburg', -26.2, 28.0, 'africa-south1 southafricanorth'],
  ['Mumbai', 19.1, 72.9, 'ap-south-1 asia-south1 centralindia westindia in-maa'],
  ['Hyderabad', 17.4, 78.5, 'ap-south-2'],
  ['Delhi', 28.6, 77.2, 'asia-south2'],
  ['Bangalore', 13.0, 77.6, 'blr1'],
  ['Singapore', 1.3, 103.8, 'ap-southeast-1 asia-southeast1 southeastasia sgp1 ap-south sg-sin'],
  ['Jakarta', -6.2, 106.8, 'ap-southeast-3 asia-southeast2 indonesiacentral id-cgk'],
  ['Kuala Lumpur', 3.1, 101.7, 'ap-southeast-5 malaysiawest'],
  ['Bangkok', 13.8, 100.5, 'ap-southeast-7'],
  ['Sydney', -33.9, 151.2, 'ap-southeast-2 australia-southeast1 australiaeast syd1 ap-southeast au-syd'],
  ['Melbourne', -37.8, 145.0, 'ap-southeast-4 australia-southeast2 australiasoutheast au-mel'],
  ['Auckland', -36.8, 174.8, 'ap-southeast-6 newzealandnorth'],
  ['Tokyo', 35.7, 139.7, 'ap-northeast-1 asia-northeast1 japaneast ap-northeast jp-tyo-3'],
  ['Osaka', 34.7, 135.5, 'ap-northeast-3 asia-northeast2 japanwest jp-osa'],
  ['Seoul', 37.6, 127.0, 'ap-northeast-2 asia-northeast3 koreacentral'],
  ['Hong Kong', 22.3, 114.2, 'ap-east-1 asia-east2 eastasia'],
  ['Taiwan', 24.1, 120.5, 'asia-east1 ap-east-2'],
  ['Beijing', 39.9, 116.4, 'cn-north-1 cn-beijing chinanorth'],
  ['Ningxia', 38.5, 106.3, 'cn-northwest-1'],
  ['Shanghai', 31.2, 121.5, 'cn-shanghai chinaeast'],
  ['Hangzhou', 30.3, 120.2, 'cn-hangzhou'],
];

const BY_REGION: ReadonlyMap<string, Place> = new Map(
  CITIES.flatMap(([name, lat, lon, regions]) => regions.split(' ').map((region) => [region, { lat, lon, name }] as const)),
);

/** The place of a cloud region (`eu-west-1`, `europe-west1`, `westeurope`), or undefined when unknown. */
export function placeOfRegion(region: string): Place | undefined {
  return BY_REGION.get(region.trim().toLowerCase());
}

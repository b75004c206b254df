// Where a photo was taken, only when the person allows it, and never more precisely than about
// a kilometre: two decimals of a degree are 1.1 km north-south (less east-west away from the
// equator), enough to say which hill or town, not which house.
const SETTING = "cloudatlas.keepPlace";
const DECIMALS = 2;

export const allowed = () => localStorage.getItem(SETTING) === "1";
export function allow(on) { localStorage.setItem(SETTING, on ? "1" : "0"); }

export const rounded = (x) => Math.round(x * 10 ** DECIMALS) / 10 ** DECIMALS;

/** {latitude, longitude} rounded, or null (not allowed, refused, or no fix within a few seconds). */
export function currentPlace() {
  if (!allowed() || !navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({ latitude: rounded(pos.coords.latitude), longitude: rounded(pos.coords.longitude) }),
      () => resolve(null),
      { enableHighAccuracy: false, maximumAge: 10 * 60_000, timeout: 8000 },
    );
  });
}

// The tenant's branding: the server's base for this client (`/` for the default tenant, `/t/SLUG/` for another), and the
// tenant's name and logo in the header and the window title. Its colours come with branding.css (CSS custom properties).
import { request } from './net.js';

export const serverBase = new URL('../', new URL('.', location.href)).href;

export async function loadBranding() {
  try {
    const r = await request(new URL('api/branding', serverBase));
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

/** Shows the tenant's name (instead of the client's own) and its logo; nothing for the default tenant that was never branded. */
export function applyBranding(brand) {
  if (!brand) return;
  document.documentElement.dataset.tenant = brand.tenant;
  if (brand.displayName) {
    document.getElementById('app-title').textContent = brand.displayName;
    document.title = brand.displayName;
  }
  const logo = document.getElementById('brand-logo');
  if (brand.logo && logo.hidden) {
    logo.src = new URL('api/branding/logo', serverBase).href;
    logo.hidden = false;
  }
}

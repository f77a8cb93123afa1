// Product branding for the SPA: the one place to rename or recolour it.
// Colours become CSS custom properties on <html> at start-up (see
// applyTheme), so components only ever use var(--brand) and friends.

export const config = {
  productName: 'Gatehouse',
  tagline: 'Secure sign-in for your apps',
  // Shown in the password hints only; keep it equal to the server's
  // GATEHOUSE_PASSWORD_MIN_LENGTH (the server's own messages always win).
  passwordMinLength: 8,
  colors: {
    brand: '#4338ca', // buttons, links, focus ring
    brandHover: '#3730a3',
    brandSoft: '#eef2ff', // tinted backgrounds
    onBrand: '#ffffff', // text on the brand colour
    ink: '#111827', // body text
    muted: '#4b5563', // secondary text (AA on white)
    surface: '#ffffff',
    canvas: '#f5f6fb', // page background
    border: '#d7dae3',
    danger: '#b42318',
    dangerSoft: '#fef3f2',
    success: '#067647',
    successSoft: '#ecfdf3',
  },
}

export function applyTheme(root = document.documentElement) {
  // CSSOM writes, not a <style> element, so a strict CSP still allows them.
  for (const [name, value] of Object.entries(config.colors)) {
    const prop = '--' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())
    root.style.setProperty(prop, value)
  }
}

export function pageTitle(title) {
  return title ? `${title} · ${config.productName}` : config.productName
}

/** A hand-written SVG of quality vs strong-call share: one panel per data set, curves as polylines, routers as dots. */
export interface Series {
  name: string;
  color: string;
  points: { share: number; quality: number }[];
  /** Dots instead of a line. */
  dots?: boolean;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function panel(p: Panel, x0: number, w: number, h: number): string {
  const pad = { l: 50, r: 10, t: 30, b: 40 };
  const all = p.series.flatMap((s) => s.points.map((q) => q.quality));
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  const m = (hi - lo) * 0.05 || 0.01;
  lo -= m;
  hi += m;
  const X = (s: number) => x0 + pad.l + s * (w - pad.l - pad.r);
  const Y = (q: number) => pad.t + (1 - (q - lo) / (hi - lo)) * (h - pad.t - pad.b);
  const out: string[] = [];
  out.push(`<text x="${x0 + w / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${X(0)}" y="${Y(hi)}" width="${X(1) - X(0)}" height="${Y(lo) - Y(hi)}" fill="none" stroke="#999"/>`);
  for (let i = 0; i <= 10; i += 2) {
    const s = i / 10;
    out.push(`<line x1="${X(s)}" y1="${Y(lo)}" x2="${X(s)}" y2="${Y(lo) + 4}" stroke="#999"/><text x="${X(s)}" y="${Y(lo) + 16}" text-anchor="middle" font-size="10">${i * 10}%</text>`);
    const q = lo + ((hi - lo) * i) / 10;
    out.push(`<text x="${X(0) - 4}" y="${(Y(q) + 3).toFixed(1)}" text-anchor="end" font-size="10">${q.toFixed(q > 2 ? 2 : 3)}</text>`);
  }
  out.push(`<text x="${x0 + w / 2}" y="${h - 6}" text-anchor="middle" font-size="11">share of calls sent to the strong model</text>`);
  out.push(`<text x="${x0 + 12}" y="${h / 2}" transform="rotate(-90 ${x0 + 12} ${h / 2})" text-anchor="middle" font-size="11">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, k) => {
    if (s.dots) for (const q of s.points) out.push(`<circle cx="${X(q.share).toFixed(1)}" cy="${Y(q.quality).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    else {
      // At most ~200 vertices per curve: the SVG stays small.
      const step = Math.max(1, Math.floor(s.points.length / 200));
      const pts = s.points.filter((_, i) => i % step === 0 || i === s.points.length - 1);
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''} points="${pts.map((q) => `${X(q.share).toFixed(1)},${Y(q.quality).toFixed(1)}`).join(' ')}"/>`);
    }
    // Bottom right: quality curves rise to the left and top, so that corner is empty.
    const ly = h - pad.b - 8 - (p.series.length - 1 - k) * 13;
    out.push(`<rect x="${X(0.45)}" y="${ly - 4}" width="10" height="3" fill="${s.color}"/><text x="${X(0.45) + 14}" y="${ly}" font-size="10">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

export function renderSvg(panels: Panel[], w = 520, h = 380): string {
  const body = panels.map((p, i) => panel(p, i * w, w, h)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w * panels.length}" height="${h}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}

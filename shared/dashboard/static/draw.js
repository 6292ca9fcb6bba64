// Building blocks of the panels: elements, tables (every chart's numbers are also a table), charts in SVG,
// CSV links and empty states. Styles come from app.css only: the page's policy allows no inline style attributes,
// so bar lengths are set through the CSSOM.
import {download, explain} from "./api.js";

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, v);
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function svg(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A table: the first column names the row; the others are numbers (right-aligned).
export function table(caption, head, rows) {
  return el("div", {class: "scroll", tabindex: "0", role: "region", "aria-label": caption || head.join(", ")}, el("table", {},
    caption ? el("caption", {class: "sr-only"}, caption) : null,
    el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", {scope: "col", class: i ? "n" : null}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c, i) => el(i ? "td" : "th", i ? {class: "n"} : {scope: "row"}, String(c))))))));
}

// A chart's numbers behind a disclosure: the text alternative a screen reader or a curious owner opens.
export const numbers = (caption, head, rows) => el("details", {}, el("summary", {}, "The numbers as a table"), table(caption, head, rows));

export function empty(text, code) {
  return el("div", {class: "none"}, el("p", {}, text), code ? el("pre", {}, code) : null);
}

export function failed(id, error) {
  $(id).replaceChildren(el("p", {class: "down", role: "status"}, explain(error)));
}

// "CSV" links: real links (keyboard, context menu) whose click fetches the file with the credential.
export function csvLinks(id, links) {
  $(id).replaceChildren(...links.map(({label, path, params}) => {
    const query = new URLSearchParams({...params, format: "csv"});
    const link = el("a", {href: `${path}?${query}`, class: "csv", download: ""}, label || "CSV");
    link.addEventListener("click", (event) => {
      event.preventDefault();
      download(path, {...params, format: "csv"}).catch((error) => alert(explain(error)));
    });
    return link;
  }));
}

// Horizontal bars: one row per item, its length relative to the largest value.
export function bars(label, items) {
  const top = Math.max(1, ...items.map((i) => i.value || 0));
  const list = el("ul", {class: "bars", "aria-label": label}, ...items.map((i) => el("li", {class: "barrow"},
    el("span", {class: "barname"}, i.name),
    el("span", {class: "bartrack", "aria-hidden": "true"}, el("span", {class: `barfill ${i.cls || ""}`})),
    el("span", {class: "barvalue"}, i.text))));
  list.querySelectorAll(".barfill").forEach((bar, n) => { bar.style.width = `${(100 * (items[n].value || 0)) / top}%`; });
  return list;
}

// Columns per label for one or two series (e.g. inquiries and weddings per month).
export function columns(label, labels, series) {
  const width = 640, height = 200, pad = 24, base = height - pad;
  const top = Math.max(1, ...series.flatMap((s) => s.values.map((v) => v || 0)));
  const slot = (width - 2 * pad) / Math.max(1, labels.length);
  const bar = Math.max(2, (slot * 0.8) / series.length);
  const chart = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label});
  chart.append(svg("line", {class: "axis", x1: pad, y1: base, x2: width - pad, y2: base}));
  chart.append(svg("text", {class: "tick", x: 2, y: pad - 8}, top.toLocaleString()));
  series.forEach((s, k) => s.values.forEach((v, i) => {
    const h = ((v || 0) * (base - pad)) / top;
    chart.append(svg("rect", {class: s.cls, x: pad + i * slot + slot * 0.1 + k * bar, y: base - h, width: bar - 1, height: h, rx: 2}));
  }));
  const every = Math.ceil(labels.length / 12);
  labels.forEach((l, i) => { if (i % every === 0) chart.append(svg("text", {class: "tick", x: pad + i * slot + slot / 2, y: height - 6, "text-anchor": "middle"}, l)); });
  return chart;
}

// Lines over time: a series per entry, points at the same periods.
export function lines(label, starts, series) {
  const width = 640, height = 220, pad = 28;
  const top = Math.max(1, ...series.flatMap((s) => s.values.map((v) => v || 0)));
  const x = (i) => pad + (starts.length > 1 ? (i * (width - 2 * pad)) / (starts.length - 1) : (width - 2 * pad) / 2);
  const y = (v) => height - pad - ((v || 0) * (height - 2 * pad)) / top;
  const chart = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label});
  [0.5, 1].forEach((f) => chart.append(svg("line", {class: "grid", x1: pad, x2: width - pad, y1: y(top * f), y2: y(top * f)})));
  chart.append(svg("line", {class: "axis", x1: pad, y1: height - pad, x2: width - pad, y2: height - pad}));
  chart.append(svg("text", {class: "tick", x: 2, y: pad - 6}, top.toLocaleString()));
  for (const s of series) {
    const points = s.values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
    if (s.fill) chart.append(svg("polygon", {class: `${s.cls} area`, points: `${x(0)},${y(0)} ${points} ${x(s.values.length - 1)},${y(0)}`}));
    chart.append(svg("polyline", {class: s.cls, points}));
  }
  if (starts.length) [0, starts.length - 1].forEach((i) => chart.append(svg("text", {class: "tick", x: x(i), y: height - 8, "text-anchor": i ? "end" : "start"}, starts[i])));
  return chart;
}

export function legend(items) {
  return el("ul", {class: "legend"}, ...items.map(([cls, name]) => el("li", {}, el("span", {class: `key ${cls}`}), name)));
}

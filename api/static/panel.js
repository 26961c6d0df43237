// Merchant console (issue 14). Plain ES module, no build step, the same contract as the
// portal: every request is a persisted operation from operations.js (generated from
// frontend-contract/operations/), sent by its sha256 first and with its text only when the
// server answers PersistedQueryNotFound, so it works with ENV=production.
// Everything is drawn with DOM calls (never innerHTML with data) under a strict CSP.
import { operations } from "./operations.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "autofactura.console.token";

// --- GraphQL -------------------------------------------------------------------------------

class GraphQLFailure extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.codes = errors.map((e) => (e.extensions && e.extensions.code) || "");
  }
}

async function post(body, token) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify(body) });
  if (!response.ok && !(response.headers.get("content-type") || "").includes("json")) {
    throw new GraphQLFailure([{ message: `El servidor respondió HTTP ${response.status}.` }]);
  }
  return response.json();
}

async function gql(name, variables = {}) {
  const op = operations[name];
  const token = sessionStorage.getItem(TOKEN_KEY);
  const body = { operationName: name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: op.sha256 } } };
  let result = await post(body, token);
  const notFound = (result.errors || []).some((e) => e.extensions && e.extensions.code === "PERSISTED_QUERY_NOT_FOUND");
  if (notFound) result = await post({ ...body, query: op.document }, token);
  if (result.errors && result.errors.length) {
    const failure = new GraphQLFailure(result.errors);
    if (failure.codes.includes("UNAUTHENTICATED") || failure.codes.includes("FORBIDDEN")) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("Tu sesión terminó: vuelve a entrar.");
    }
    throw failure;
  }
  return result.data;
}

// --- formatting and DOM --------------------------------------------------------------------

const money = new Intl.NumberFormat("es-MX", { style: "currency", currency: "MXN" });
const when = new Intl.DateTimeFormat("es-MX", { dateStyle: "medium", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat("es-MX", { day: "numeric", month: "short", timeZone: "UTC" });
const axisMoney = new Intl.NumberFormat("es-MX", { style: "currency", currency: "MXN", notation: "compact", maximumFractionDigits: 1 });
const fmtMoney = (d) => money.format(Number(d));
const fmtDate = (iso) => (iso ? when.format(new Date(iso)) : "—");

// Dates of the fiscal clock written in the merchant's own zone (its LugarExpedicion's), not
// the browser's: a period runs from one local midnight to another.
function zoned(timeZone) {
  const day = new Intl.DateTimeFormat("es-MX", { dateStyle: "medium", timeZone });
  const moment = new Intl.DateTimeFormat("es-MX", { dateStyle: "medium", timeStyle: "short", timeZone });
  return {
    at: (iso) => (iso ? moment.format(new Date(iso)) : "—"),
    // [start, end) as the first and the last day; one day when they are the same.
    range: (start, end) => {
      if (!start || !end) return "—";
      const first = day.format(new Date(start)), last = day.format(new Date(new Date(end).getTime() - 1));
      return first === last ? first : `${first} – ${last}`;
    },
  };
}
const SALE_STATUS = { OPEN: "Abierta", INVOICED: "Facturada", IN_GLOBAL_INVOICE: "En factura global", CANCELLED: "Cancelada" };
const INVOICE_STATUS = { PENDING: "Timbrando", ISSUED: "Vigente", CANCELLATION_PENDING: "Cancelación en proceso", CANCELLED: "Cancelada" };
const MOTIVOS = {
  "01": "01 · Comprobante emitido con errores con relación",
  "02": "02 · Comprobante emitido con errores sin relación",
  "03": "03 · No se llevó a cabo la operación",
  "04": "04 · Operación nominativa relacionada en una factura global",
};
const PERIODICITY = { "01": "Diaria", "02": "Semanal", "03": "Quincenal", "04": "Mensual", "05": "Bimestral" };
// SelfInvoicingSettings.globalInvoicePeriodicity, in c_Periodicidad order (01 to 05).
const PERIODICITY_SETTING = { DAILY: "Diaria", WEEKLY: "Semanal", FORTNIGHTLY: "Quincenal", MONTHLY: "Mensual", BIMONTHLY: "Bimestral" };
const NEEDS_DAY = new Set(["01", "02", "03"]);  // issueGlobalInvoice asks a day of these periods
const MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"];
const BIMESTERS = { 13: "enero-febrero", 14: "marzo-abril", 15: "mayo-junio", 16: "julio-agosto", 17: "septiembre-octubre", 18: "noviembre-diciembre" };
const SCOPES = {
  SALES_WRITE: "Registrar ventas", SALES_READ: "Consultar ventas", INVOICES_READ: "Consultar facturas",
  INVOICES_CANCEL: "Cancelar facturas", GLOBAL_INVOICES: "Facturas globales", SETTINGS: "Ajustes",
  API_KEYS_MANAGE: "Administrar llaves", WEBHOOKS_MANAGE: "Administrar webhooks",
};
const EVENTS = {
  SALE_RECORDED: "Venta registrada", INVOICE_ISSUED: "Factura emitida", INVOICE_CANCELLATION_PENDING: "Cancelación pendiente",
  INVOICE_CANCELLED: "Factura cancelada", GLOBAL_INVOICE_ISSUED: "Factura global emitida",
};

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const badge = (status, labels) => h("span", { class: `badge ${status}` }, labels[status] || status);
const field = (id, label, input, hint) => h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint" }, hint) : null);
const facts = (pairs) => h("dl", { class: "facts" }, pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
const folio = (inv) => [inv.series, inv.folio].filter(Boolean).join("-") || "—";

function say(message) { $("page-status").textContent = message || ""; }
function fail(message) {
  const el = $("page-error");
  el.textContent = message || "";
  el.hidden = !message;
}

function errorsText(errors) { return errors.map((e) => e.message).join(" "); }

async function busy(button, work) {
  button.disabled = true;
  fail("");
  try {
    return await work();
  } catch (error) {
    fail(error.message || "No se pudo completar la operación.");
    return null;
  } finally {
    button.disabled = false;
  }
}

function download(url, label, name) {
  return url ? h("a", { class: "button secondary", href: url, download: name || "", "data-download": label }, label) : null;
}

// --- proof of work (ALTCHA), as the portal does ---------------------------------------------

function solveChallenge(challengeJson) {
  const challenge = JSON.parse(challengeJson);
  return new Promise((resolve, reject) => {
    const worker = new Worker("/static/vendor/altcha/pbkdf2.js");
    const failed = () => { worker.terminate(); reject(new Error("No se pudo completar la verificación automática. Intenta de nuevo.")); };
    worker.onerror = failed;
    worker.onmessage = ({ data }) => {
      if (!data || data.error || typeof data.counter !== "number") return failed();
      worker.terminate();
      resolve(btoa(JSON.stringify({ challenge, solution: data })));
    };
    worker.postMessage({ type: "work", challenge, counterStart: 0, counterStep: 1, timeout: 90000 });
  });
}

// --- session -------------------------------------------------------------------------------

function showLogin(message) {
  $("login-view").hidden = false;
  $("nav").hidden = true;
  $("logout").hidden = true;
  $("who").hidden = true;
  $("view").replaceChildren();
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("login-email").focus();
}

async function login(event) {
  event.preventDefault();
  const email = $("login-email").value.trim();
  const password = $("login-password").value;
  const error = $("login-error");
  if (!email || !password) {
    error.textContent = "Escribe tu correo y tu contraseña.";
    error.hidden = false;
    return;
  }
  await busy($("login-button"), async () => {
    let { login: result } = await gql("Login", { email, password });
    if (result.__typename === "LoginChallenge") {
      // Many failed logins for this e-mail: the server asks for a proof of work (ALTCHA),
      // solved off the main thread by the portal's vendored worker, then the same login again.
      say("Verificando que no eres un robot…");
      const challenge = await solveChallenge(result.challenge);
      say("");
      ({ login: result } = await gql("Login", { email, password, challenge }));
    }
    if (result.__typename === "LoginSucceeded") {
      sessionStorage.setItem(TOKEN_KEY, result.token);
      $("login-password").value = "";
      $("login-view").hidden = true;
      if (!location.hash || location.hash === "#/") location.hash = "#/resumen";
      else route();
      return;
    }
    error.textContent = result.message;
    error.hidden = false;
  });
}

// --- router --------------------------------------------------------------------------------

const VIEWS = {
  resumen: overview, ventas: salesView, venta: saleView, facturas: invoicesView, factura: invoiceView,
  globales: globalsView, ajustes: settingsView, integraciones: integrationsView, csd: csdView,
};

let flash = "";  // what the next route() shows once its view is drawn

function redrawWith(message) {
  flash = message;
  return route();
}

async function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return showLogin();
  $("login-view").hidden = true;
  $("nav").hidden = false;
  $("logout").hidden = false;
  const [section = "resumen", arg] = location.hash.replace(/^#\/?/, "").split("/");
  const view = VIEWS[section] || overview;
  const navSection = { venta: "ventas", factura: "facturas" }[section] || section;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.section === navSection) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  fail("");
  say("Cargando…");
  try {
    const content = await view(arg ? decodeURIComponent(arg) : undefined);
    $("view").replaceChildren(content);
    say(flash);
    flash = "";
    document.body.dataset.view = section;
    const heading = $("view").querySelector("h1");
    if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
  } catch (error) {
    say("");
    if (sessionStorage.getItem(TOKEN_KEY)) fail(error.message);
  }
}

// --- overview ------------------------------------------------------------------------------

function tile(title, big, ...lines) {
  return h("div", { class: "tile" }, h("h2", {}, title), h("p", { class: "big" }, big), lines.map((l) => h("p", {}, l)));
}

function chart(days) {
  // Grouped bars per day: all sales and, over them, the self-invoiced part. Drawn here as
  // SVG (no chart library, nothing from a CDN); a table below says the same in words.
  const NS = "http://www.w3.org/2000/svg";
  const s = (tag, attrs, ...kids) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.append(...kids);
    return el;
  };
  // Drawn at the width it is shown at, so its text stays legible on a phone.
  const width = Math.min(720, Math.max(300, document.getElementById("main").clientWidth - 48));
  const height = 220, left = 64, bottom = 26, top = 10;
  const labelEvery = width < 500 ? 7 : 5;
  const max = Math.max(1, ...days.map((d) => Number(d.totals.total)));
  const step = (width - left - 8) / days.length;
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title" },
    s("title", { id: "chart-title" }, `Ventas y autofacturado por día, últimos ${days.length} días`));
  for (const f of [0, 0.5, 1]) {
    const v = max * f;
    svg.append(s("line", { class: "axis", x1: left, x2: width, y1: y(v), y2: y(v) }),
      s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, axisMoney.format(v)));
  }
  days.forEach((d, i) => {
    const x = left + i * step + step * 0.15, w = step * 0.7;
    const total = Number(d.totals.total), self = Number(d.totals.selfInvoicedTotal);
    const label = `${dayFormat.format(new Date(d.date))}: ${fmtMoney(total)} en ${d.totals.count} ventas, ${fmtMoney(self)} autofacturado`;
    svg.append(s("rect", { class: "bar-total", x, width: w, y: y(total), height: Math.max(0, y(0) - y(total)) }, s("title", {}, label)));
    if (self > 0) svg.append(s("rect", { class: "bar-self", x: x + w * 0.2, width: w * 0.6, y: y(self), height: y(0) - y(self) }, s("title", {}, label)));
    if ((days.length - 1 - i) % labelEvery === 0) {
      svg.append(s("text", { x: x + w / 2, y: height - 8, "text-anchor": "middle" }, dayFormat.format(new Date(d.date))));
    }
  });
  const rows = days.filter((d) => d.totals.count > 0).map((d) => h("tr", {},
    h("td", {}, dayFormat.format(new Date(d.date))), h("td", { class: "num" }, d.totals.count),
    h("td", { class: "num" }, fmtMoney(d.totals.total)), h("td", { class: "num" }, fmtMoney(d.totals.selfInvoicedTotal))));
  return h("div", { class: "chart" }, svg,
    h("p", { class: "legend" }, h("span", { class: "l-total" }, "Ventas"), h("span", { class: "l-self" }, "Autofacturado")),
    h("details", {}, h("summary", {}, "Ver como tabla"), h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Día"), h("th", { class: "num" }, "Ventas"), h("th", { class: "num" }, "Importe"), h("th", { class: "num" }, "Autofacturado"))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 4 }, "Sin ventas en estos días.")))))));
}

function nextGlobalTile(n, timeZone) {
  const z = zoned(timeZone);
  const due = n.overdue
    ? h("p", { class: "alert", id: "next-global-overdue" }, `Vencida: el plazo terminó el ${z.at(n.deadline)}`)
    : h("p", {}, `Se emite el ${z.at(n.dueAt)}; plazo: ${z.at(n.deadline)}`);
  return h("div", { class: "tile wide", id: "next-global" }, h("h2", {}, "Próxima factura global"),
    h("p", { class: "big" }, fmtMoney(n.total)),
    h("p", { id: "next-global-period" }, `${PERIODICITY[n.periodicity] || n.periodicity} · ${z.range(n.periodStart, n.periodEnd)}`),
    h("p", {}, `${n.saleCount} ${n.saleCount === 1 ? "venta" : "ventas"} sin factura hasta ahora`),
    due,
    h("p", { id: "next-global-mode" }, n.automatic ? "Automática: el sistema la emite al terminar el periodo."
      : h("span", {}, "Manual: emítela en ", h("a", { href: "#/globales" }, "Facturas globales"), ".")),
    h("p", { class: "zone" }, `Fechas y horas de ${timeZone}`));
}

async function overview() {
  const { dashboardSummary: s, salesByDay, me, nextGlobalInvoice } = await gql("ConsoleOverview", { days: 30 });
  $("who").textContent = `${me.legalName} · ${me.rfc} · comercio ${me.companyNumber}`;
  $("who").hidden = false;
  const csd = me.csd;
  const csdLine = csd.daysLeft < 0 ? "Vencido: renuévalo para seguir facturando."
    : `Vence el ${fmtDate(csd.validUntil)} (${csd.daysLeft} días).`;
  return h("div", {},
    h("h1", {}, "Resumen"),
    s.sandbox ? h("p", { class: "warn", id: "sandbox-banner" }, "Timbrado de pruebas (sandbox): las facturas no tienen validez fiscal.")
      : h("p", { class: "ok", id: "sandbox-banner" }, "Timbrado real con el PAC: las facturas tienen validez fiscal."),
    h("div", { class: "tiles" },
      tile("Ventas de hoy", fmtMoney(s.today.total), `${s.today.count} ventas`,
        `${s.today.selfInvoicedCount} autofacturadas (${fmtMoney(s.today.selfInvoicedTotal)})`),
      tile("Ventas del mes", fmtMoney(s.thisMonth.total), `${s.thisMonth.count} ventas`,
        `${s.thisMonth.selfInvoicedCount} autofacturadas (${fmtMoney(s.thisMonth.selfInvoicedTotal)})`),
      tile("Pendiente de factura global", fmtMoney(s.pendingGlobalTotal),
        `${s.pendingGlobalCount} ventas abiertas de días anteriores sin factura`),
      nextGlobalTile(nextGlobalInvoice, s.timeZone),
      tile("CSD", csd.daysLeft < 30 ? "Renovar pronto" : "Vigente", csdLine, h("a", { href: "#/csd" }, "Renovar el CSD")),
      tile("Autofacturación", me.selfInvoicing.enabled ? "Activa" : "Apagada", h("a", { href: "#/ajustes" }, "Cambiar en Ajustes"))),
    h("section", { class: "card", "aria-labelledby": "chart-h" }, h("h2", { id: "chart-h" }, "Últimos 30 días"), chart(salesByDay)),
    h("p", { class: "hint" }, `Días y meses en la zona horaria de tu lugar de expedición (${s.timeZone}).`));
}

// --- sales ---------------------------------------------------------------------------------

function localDayStart(value, plusDays = 0) {
  // <input type=date> gives YYYY-MM-DD: the start of that day in the browser's zone, as ISO.
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

async function salesView() {
  const form = h("form", { id: "sales-filter", class: "card", role: "search" },
    h("div", { class: "row" },
      field("f-reference", "Referencia", h("input", { id: "f-reference", name: "reference", autocomplete: "off" })),
      field("f-from", "Desde", h("input", { id: "f-from", type: "date" })),
      field("f-to", "Hasta", h("input", { id: "f-to", type: "date" })),
      field("f-status", "Estado", h("select", { id: "f-status" }, h("option", { value: "" }, "Todos"),
        Object.entries(SALE_STATUS).map(([v, l]) => h("option", { value: v }, l)))),
      h("div", { class: "field" }, h("button", { type: "submit", class: "primary", id: "search-button" }, "Buscar"))));
  const tbody = h("tbody", { id: "sales-rows" });
  const more = h("button", { type: "button", class: "secondary", id: "more-sales", hidden: true }, "Ver más");
  let after = null;
  const variables = () => {
    const v = { first: 25 };
    const ref = $("f-reference").value.trim();
    if (ref) v.reference = ref;
    if ($("f-from").value) v.soldFrom = localDayStart($("f-from").value);
    if ($("f-to").value) v.soldTo = localDayStart($("f-to").value, 1);
    if ($("f-status").value) v.status = $("f-status").value;
    return v;
  };
  const load = async (append) => {
    const { sales } = await gql("ConsoleSales", { ...variables(), after: append ? after : null });
    const rows = sales.edges.map(({ node }) => h("tr", {},
      h("td", {}, h("a", { href: `#/venta/${encodeURIComponent(node.id)}` }, node.reference)),
      h("td", { class: "hide-phone" }, fmtDate(node.soldAt)),
      h("td", { class: "num" }, fmtMoney(node.total)),
      h("td", {}, badge(node.status, SALE_STATUS)),
      h("td", { class: "hide-phone" }, node.invoice ? h("a", { href: `#/factura/${encodeURIComponent(node.invoice.id)}` }, folio(node.invoice)) : "—")));
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 5 }, "Ninguna venta coincide."))]));
    after = sales.pageInfo.endCursor;
    more.hidden = !sales.pageInfo.hasNextPage;
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); busy($("search-button"), () => load(false)); });
  more.addEventListener("click", () => busy(more, () => load(true)));
  const view = h("div", {}, h("h1", {}, "Ventas"), form,
    h("div", { class: "card table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Referencia"), h("th", { class: "hide-phone" }, "Fecha"), h("th", { class: "num" }, "Total"),
        h("th", {}, "Estado"), h("th", { class: "hide-phone" }, "Factura"))), tbody), h("div", { class: "actions" }, more)));
  $("view").replaceChildren(view);  // the inputs must exist before the first load reads them
  await load(false);
  return view;
}

function invoiceFacts(inv) {
  return facts([
    ["Estado", badge(inv.status, INVOICE_STATUS)],
    ["Folio", folio(inv)],
    ["UUID", h("span", { class: "mono" }, inv.uuid || "—")],
    ["Emitida", fmtDate(inv.issuedAt)],
    ["Cliente", `${inv.customerName} · ${inv.customerRfc}`],
    ["Total", fmtMoney(inv.total)],
    inv.sandbox ? ["Timbrado", badge("sandbox", { sandbox: "Pruebas, sin validez fiscal" })] : null,
    inv.cancellationReason ? ["Motivo de cancelación", MOTIVOS[inv.cancellationReason] || inv.cancellationReason] : null,
    inv.replacementUuid ? ["Sustituida por", h("span", { class: "mono" }, inv.replacementUuid)] : null,
    inv.cancelledAt ? ["Cancelada el", fmtDate(inv.cancelledAt)] : null,
    inv.cancellationNote ? ["Respuesta del receptor", inv.cancellationNote] : null,
  ]);
}

async function saleView(id) {
  const { sale } = await gql("ConsoleSale", { id });
  if (!sale) return h("div", {}, h("h1", {}, "Venta"), h("p", { class: "alert" }, "No existe esa venta."));
  const inv = sale.invoice;
  return h("div", {}, h("p", {}, h("a", { href: "#/ventas" }, "← Ventas")), h("h1", {}, `Venta ${sale.reference}`),
    h("div", { class: "two" },
      h("section", { class: "card" }, h("h2", {}, "Ticket"), facts([
        ["Estado", badge(sale.status, SALE_STATUS)], ["Fecha", fmtDate(sale.soldAt)], ["Total", fmtMoney(sale.total)],
        ["Número de comercio", sale.invoicingData.companyNumber],
        ["Liga del portal", h("a", { href: sale.invoicingData.portalUrl, class: "mono" }, sale.invoicingData.portalUrl)]])),
      h("section", { class: "card", id: "sale-invoice" }, h("h2", {}, "Factura"),
        inv ? [invoiceFacts(inv), h("div", { class: "actions" }, download(inv.xmlUrl, "Descargar XML"), download(inv.pdfUrl, "Descargar PDF"),
          h("a", { class: "button primary", href: `#/factura/${encodeURIComponent(inv.id)}` }, "Ver y cancelar"))]
          : h("p", { class: "hint" }, "Sin factura: el cliente aún puede autofacturarla, o irá en la factura global."))));
}

// --- invoices ------------------------------------------------------------------------------

async function invoicesView() {
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Ver más");
  let after = null;
  const load = async (append) => {
    const { invoices } = await gql("ConsoleInvoices", { first: 25, after: append ? after : null });
    const rows = invoices.edges.map(({ node }) => h("tr", {},
      h("td", {}, h("a", { href: `#/factura/${encodeURIComponent(node.id)}` }, folio(node))),
      h("td", { class: "hide-phone" }, fmtDate(node.issuedAt)),
      h("td", {}, node.customerRfc),
      h("td", { class: "num" }, fmtMoney(node.total)),
      h("td", {}, badge(node.status, INVOICE_STATUS))));
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 5 }, "Aún no hay facturas."))]));
    after = invoices.pageInfo.endCursor;
    more.hidden = !invoices.pageInfo.hasNextPage;
  };
  more.addEventListener("click", () => busy(more, () => load(true)));
  await load(false);
  return h("div", {}, h("h1", {}, "Facturas"), h("div", { class: "card table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, "Folio"), h("th", { class: "hide-phone" }, "Emitida"), h("th", {}, "RFC"), h("th", { class: "num" }, "Total"), h("th", {}, "Estado"))),
    tbody), h("div", { class: "actions" }, more)));
}

async function invoiceView(id) {
  const { invoice: inv } = await gql("ConsoleInvoice", { id });
  if (!inv) return h("div", {}, h("h1", {}, "Factura"), h("p", { class: "alert" }, "No existe esa factura."));
  const view = h("div", {}, h("p", {}, h("a", { href: "#/facturas" }, "← Facturas")), h("h1", {}, `Factura ${folio(inv)}`),
    h("section", { class: "card", id: "invoice-card" }, invoiceFacts(inv),
      h("div", { class: "actions" }, download(inv.xmlUrl, "Descargar XML"), download(inv.pdfUrl, "Descargar PDF"))));
  if (inv.cancellationAcuse) {
    view.append(h("section", { class: "card" }, h("h2", {}, "Respuesta del SAT (acuse de cancelación)"),
      h("pre", { class: "mono", id: "acuse" }, inv.cancellationAcuse)));
  }
  if (inv.status === "ISSUED") view.append(cancelForm(inv));
  if (inv.pacCalls.length) {
    view.append(h("section", { class: "card table-wrap" }, h("h2", {}, "Llamadas al PAC"), h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Operación"), h("th", {}, "Resultado"), h("th", {}, "Cuándo"))),
      h("tbody", {}, inv.pacCalls.map((c) => h("tr", {}, h("td", {}, c.operation), h("td", {}, c.outcome), h("td", {}, fmtDate(c.at))))))));
  }
  return view;
}

function cancelForm(inv) {
  const reason = h("select", { id: "cancel-reason", required: true }, h("option", { value: "" }, "Elige el motivo (c_MotivoCancelacion)"),
    Object.entries(MOTIVOS).map(([v, l]) => h("option", { value: v }, l)));
  const replacement = h("input", { id: "cancel-replacement", autocomplete: "off", spellcheck: "false", placeholder: "UUID de la factura que la sustituye" });
  const replacementField = field("cancel-replacement", "Folio fiscal (UUID) que la sustituye", replacement,
    "Solo con motivo 01: emite primero la factura correcta y escribe aquí su UUID.");
  replacementField.hidden = true;
  reason.addEventListener("change", () => { replacementField.hidden = reason.value !== "01"; });
  const submit = h("button", { type: "submit", class: "danger", id: "cancel-button" }, "Solicitar cancelación al SAT");
  const result = h("div", { id: "cancel-result", role: "status" });
  const form = h("form", { class: "card", id: "cancel-form" }, h("h2", {}, "Cancelar ante el SAT"),
    h("p", { class: "hint" }, "Con 03 la venta queda cancelada; con 01, 02 o 04 el ticket puede facturarse de nuevo."),
    field("cancel-reason", "Motivo", reason), replacementField, result, submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!reason.value) { result.replaceChildren(h("p", { class: "alert" }, "Elige el motivo de la cancelación.")); return; }
    const input = { id: inv.id, reason: reason.value };
    if (reason.value === "01") input.replacementUuid = replacement.value.trim();
    busy(submit, async () => {
      const { cancelInvoice: r } = await gql("CancelInvoice", { input });
      if (r.__typename === "InvoiceCancelled") {
        const status = r.invoice.status;
        result.replaceChildren(h("p", { class: status === "CANCELLED" ? "ok" : "warn" }, status === "CANCELLED"
          ? "El SAT canceló la factura."
          : "Cancelación en proceso: el SAT espera la respuesta del receptor (hasta 72 horas)."));
        setTimeout(route, 600);
      } else if (r.__typename === "InvalidCancellation") {
        result.replaceChildren(h("p", { class: "alert" }, errorsText(r.errors)));
      } else {
        result.replaceChildren(h("p", { class: "alert" }, r.message));
      }
    });
  });
  return form;
}

// --- facturas globales ---------------------------------------------------------------------

function period(g) {
  // Daily, weekly and fortnightly periods are said by their days (the range below) alone.
  if (NEEDS_DAY.has(g.periodicity)) return PERIODICITY[g.periodicity];
  const m = Number(g.months);
  const months = m >= 13 ? BIMESTERS[m] : MONTHS[m - 1];
  return `${PERIODICITY[g.periodicity] || g.periodicity} · ${months || g.months} ${g.year}`;
}

function globalRef(g) {
  // The other factura global of a replacement (motivo 04): its folio, and its UUID in full.
  return h("span", { class: "relation" }, `${g.series}-${g.folio}`, g.uuid ? h("span", { class: "mono uuid" }, g.uuid) : null);
}

function globalStatus(g, z) {
  const cells = [badge(g.status, INVOICE_STATUS)];
  if (g.status === "CANCELLED" && g.cancellationReason) {
    cells.push(h("span", { class: "reason" }, MOTIVOS[g.cancellationReason] || g.cancellationReason));
  }
  if (g.cancelledAt) cells.push(h("span", { class: "reason" }, `el ${z.at(g.cancelledAt)}`));
  return h("div", { class: "stack" }, cells);
}

function localToday(offsetDays = 0) {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

async function globalsView() {
  const { globalInvoices, nextGlobalInvoice: next, dashboardSummary } = await gql("ConsoleGlobals", { first: 50 });
  const timeZone = dashboardSummary.timeZone;
  const z = zoned(timeZone);
  const rows = globalInvoices.edges.map(({ node: g }) => h("tr", { "data-global": g.uuid || g.id },
    h("td", {}, `${g.series}-${g.folio}`, g.uuid ? h("span", { class: "mono uuid hide-phone" }, g.uuid) : null),
    h("td", { class: "period" }, h("span", {}, period(g)), h("span", { class: "period-range" }, z.range(g.periodStart, g.periodEnd))),
    h("td", { class: "num" }, g.part),
    h("td", { class: "num hide-phone" }, g.saleCount),
    h("td", { class: "num" }, fmtMoney(g.total)),
    h("td", {}, globalStatus(g, z)),
    h("td", { class: "relations" },
      g.replaces ? h("div", {}, "Sustituye a ", globalRef(g.replaces)) : null,
      g.replacedBy ? h("div", {}, "Sustituida por ", globalRef(g.replacedBy)) : null,
      !g.replaces && !g.replacedBy ? "—" : null),
    h("td", {}, h("div", { class: "actions" }, download(g.xmlUrl, "XML"), download(g.pdfUrl, "PDF")))));
  const now = new Date();
  const periodicity = h("select", { id: "g-periodicity" },
    Object.entries(PERIODICITY).map(([v, l]) => h("option", { value: v }, `${v} · ${l}${v === "05" ? " (RIF, régimen 621)" : ""}`)));
  periodicity.value = next.periodicity;
  const day = h("input", { id: "g-day", type: "date", value: localToday(-1), max: localToday(0) });
  const dayField = field("g-day", "Un día del periodo", day);
  const months = h("select", { id: "g-months" }, MONTHS.map((name, i) => h("option", { value: String(i + 1).padStart(2, "0") }, `${String(i + 1).padStart(2, "0")} · ${name}`)),
    Object.entries(BIMESTERS).map(([v, l]) => h("option", { value: v }, `${v} · ${l}`)));
  months.value = String(now.getMonth() + 1).padStart(2, "0");
  const monthsField = field("g-months", "Meses", months);
  const year = h("input", { id: "g-year", type: "number", min: now.getFullYear() - 1, max: now.getFullYear(), value: now.getFullYear() });
  const yearField = field("g-year", "Año", year);
  const showPeriodFields = () => {
    const byDay = NEEDS_DAY.has(periodicity.value);
    dayField.hidden = !byDay;
    monthsField.hidden = byDay;
    yearField.hidden = byDay;
  };
  periodicity.addEventListener("change", showPeriodFields);
  showPeriodFields();
  const submit = h("button", { type: "submit", class: "primary", id: "issue-global" }, "Emitir factura global");
  const result = h("div", { role: "status", id: "issue-global-result" });
  const form = h("form", { class: "card", id: "issue-global-form" }, h("h2", {}, "Emitir la factura global de un periodo"),
    h("p", { class: "hint" }, "Incluye las ventas del periodo que nadie autofacturó (público en general, RFC XAXX010101000). ",
      "Diaria, semanal o quincenal: elige cualquier día del periodo; mensual o bimestral: el mes y el año. ",
      `Los días son los de ${timeZone}.`),
    h("div", { class: "row" }, field("g-periodicity", "Periodicidad", periodicity), dayField, monthsField, yearField,
      h("div", { class: "field" }, submit)), result);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = { periodicity: periodicity.value };
    if (NEEDS_DAY.has(periodicity.value)) {
      if (!day.value) { result.replaceChildren(h("p", { class: "alert" }, "Elige un día del periodo.")); return; }
      input.day = day.value;
    } else {
      input.months = months.value;
      input.year = Number(year.value);
    }
    busy(submit, async () => {
      const { issueGlobalInvoice: r } = await gql("IssueGlobalInvoice", { input });
      if (r.__typename === "GlobalInvoiceIssued") redrawWith(`Factura global emitida con ${r.includedSales} ventas.`);
      else result.replaceChildren(h("p", { class: "alert" }, r.errors ? errorsText(r.errors) : r.message));
    });
  });
  return h("div", {}, h("h1", {}, "Facturas globales"), form, h("div", { class: "card table-wrap" }, h("table", { id: "globals" },
    h("thead", {}, h("tr", {}, h("th", {}, "Folio"), h("th", {}, "Periodo"), h("th", { class: "num" }, "Parte"),
      h("th", { class: "num hide-phone" }, "Ventas"), h("th", { class: "num" }, "Total"), h("th", {}, "Estado"),
      h("th", {}, "Relación"), h("th", {}, "Descargas"))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 8 }, "Aún no hay facturas globales."))))),
  h("p", { class: "hint" }, `Periodos y horas en la zona horaria de tu lugar de expedición (${timeZone}).`));
}

// --- settings ------------------------------------------------------------------------------

function catalogueSearch(id, label, operation, key, initial) {
  // A text box that searches SAT's catalogue as you type; choosing a result fills the code.
  const input = h("input", { id, autocomplete: "off", spellcheck: "false", value: initial || "", "aria-describedby": `${id}-desc`, "aria-controls": `${id}-results` });
  const description = h("p", { class: "hint", id: `${id}-desc` }, "");
  const list = h("ul", { class: "results", id: `${id}-results`, hidden: true });
  let timer = null;
  let seq = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const search = input.value.trim();
    if (search.length < 2) { list.hidden = true; return; }
    timer = setTimeout(async () => {
      const mine = ++seq;
      let data;
      try {
        data = await gql(operation, { search, first: 10 });
      } catch (error) {
        description.textContent = error.message;
        return;
      }
      if (mine !== seq) return;
      const entries = data[key];
      list.replaceChildren(...entries.map((e) => h("li", {}, h("button", { type: "button", "data-code": e.code, onclick: () => {
        input.value = e.code;
        description.textContent = e.description;
        list.hidden = true;
        input.focus();
      } }, `${e.code} · ${e.description}`))));
      list.hidden = entries.length === 0;
    }, 200);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && !list.hidden) { e.preventDefault(); list.querySelector("button").focus(); }
    if (e.key === "Escape") list.hidden = true;
  });
  list.addEventListener("keydown", (e) => {
    const buttons = [...list.querySelectorAll("button")];
    const i = buttons.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && i < buttons.length - 1) { e.preventDefault(); buttons[i + 1].focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? buttons[i - 1] : input).focus(); }
    if (e.key === "Escape") { list.hidden = true; input.focus(); }
  });
  return h("div", { class: "field" }, h("label", { for: id }, label), input, list, description);
}

function saved(target, message) { target.replaceChildren(h("p", { class: "ok" }, message)); }
function refused(target, errors) { target.replaceChildren(h("p", { class: "alert" }, errorsText(errors))); }

function readFileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",")[1] || "");
    reader.onerror = () => reject(new Error("No se pudo leer el archivo."));
    reader.readAsDataURL(file);
  });
}

async function settingsView() {
  const { me } = await gql("ConsoleSettings");
  const { portal } = await gql("Portal", { companyNumber: me.companyNumber });
  const si = me.selfInvoicing;

  // Self-invoicing on/off and its deadline.
  const enabled = h("input", { type: "checkbox", id: "s-enabled", checked: si.enabled });
  const monthEnd = h("input", { type: "radio", name: "limit", id: "s-month-end", value: "month", checked: si.monthEndLimit });
  const byDays = h("input", { type: "radio", name: "limit", id: "s-days-mode", value: "days", checked: !si.monthEndLimit });
  const days = h("input", { id: "s-days", type: "number", min: 1, max: 365, value: si.deadlineDays, inputmode: "numeric" });
  const rulesOut = h("div", { role: "status" });
  const rulesButton = h("button", { type: "submit", class: "primary", id: "save-rules" }, "Guardar");

  // The facturas globales' periodicity (c_Periodicidad) and whether the worker issues them.
  const periodicity = h("select", { id: "s-periodicity", "aria-describedby": "s-periodicity-error s-periodicity-hint" },
    Object.entries(PERIODICITY_SETTING).map(([v, l], i) => h("option", { value: v }, `${l} (0${i + 1})`)));
  periodicity.value = si.globalInvoicePeriodicity;
  periodicity.addEventListener("change", () => periodicity.removeAttribute("aria-invalid"));
  const periodicityError = h("p", { class: "alert field-error", id: "s-periodicity-error", role: "alert", hidden: true });
  const automatic = h("input", { type: "checkbox", id: "s-automatic", checked: si.globalInvoiceAutomatic });
  const globalFields = h("fieldset", { id: "global-settings" }, h("legend", {}, "Factura global"),
    h("div", { class: "field" }, h("label", { for: "s-periodicity" }, "Periodicidad de la factura global"), periodicity, periodicityError,
      h("p", { class: "hint", id: "s-periodicity-hint" }, "Bimestral solo para el Régimen de Incorporación Fiscal (621).")),
    h("label", { class: "check", for: "s-automatic" }, automatic, "Emitir automáticamente al terminar cada periodo (dentro de 24 horas)"));
  const rules = h("form", { class: "card", id: "rules-form" }, h("h2", {}, "Autofacturación"),
    h("label", { class: "check", for: "s-enabled" }, enabled, "Portal de autofacturación activo"),
    h("fieldset", {}, h("legend", {}, "Plazo para facturar"),
      h("label", { class: "check", for: "s-month-end" }, monthEnd, "Fin de mes natural (solo dentro del mes de la compra)"),
      h("label", { class: "check", for: "s-days-mode" }, byDays, "Un número de días después de la compra")),
    field("s-days", "Días", days), globalFields, rulesOut, rulesButton);
  rules.addEventListener("submit", (e) => {
    e.preventDefault();
    periodicityError.replaceChildren();
    periodicityError.hidden = true;
    busy(rulesButton, async () => {
      await gql("SetSelfInvoicing", { enabled: enabled.checked });
      const input = { monthEndLimit: monthEnd.checked, deadlineDays: Number(days.value),
        globalInvoicePeriodicity: periodicity.value, globalInvoiceAutomatic: automatic.checked };
      const { updateSelfInvoicingSettings: r } = await gql("UpdateSelfInvoicingSettings", { input });
      if (r.__typename !== "InvalidSettings") return saved(rulesOut, "Reglas guardadas.");
      // The periodicity's refusal (05 outside régimen 621) goes beside its select; the rest below.
      const mine = r.errors.filter((x) => x.field === "globalInvoicePeriodicity");
      const rest = r.errors.filter((x) => x.field !== "globalInvoicePeriodicity");
      if (mine.length) {
        periodicityError.textContent = errorsText(mine);
        periodicityError.hidden = false;
        periodicity.setAttribute("aria-invalid", "true");
        periodicity.focus();
      }
      if (rest.length) refused(rulesOut, rest);
      else rulesOut.replaceChildren(h("p", { class: "alert" }, "No se guardó: corrige la periodicidad."));
    });
  });

  // Series.
  const series = h("input", { id: "s-series", value: si.series, maxlength: 25, autocomplete: "off" });
  const seriesOut = h("div", { role: "status" });
  const seriesButton = h("button", { type: "submit", class: "primary", id: "save-series" }, "Guardar serie");
  const seriesForm = h("form", { class: "card", id: "series-form" }, h("h2", {}, "Serie de las facturas"),
    field("s-series", "Serie", series, "Los folios siguen sin huecos por serie."), seriesOut, seriesButton);
  seriesForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(seriesButton, async () => {
      const { updateInvoiceSeries: r } = await gql("UpdateInvoiceSeries", { series: series.value.trim() });
      if (r.__typename === "InvalidSettings") refused(seriesOut, r.errors);
      else saved(seriesOut, `Serie ${r.series} guardada.`);
    });
  });

  // Generic concept with catalogue search.
  const gc = si.genericConcept;
  const gcEnabled = h("input", { type: "checkbox", id: "g-enabled", checked: gc.enabled });
  const gcDescription = h("input", { id: "g-description", value: gc.description || "", maxlength: 1000 });
  const gcOut = h("div", { role: "status" });
  const gcButton = h("button", { type: "submit", class: "primary", id: "save-concept" }, "Guardar concepto");
  const gcForm = h("form", { class: "card", id: "concept-form" }, h("h2", {}, "Concepto genérico"),
    h("p", { class: "hint" }, "Las facturas listan este concepto en lugar de las líneas del ticket."),
    h("label", { class: "check", for: "g-enabled" }, gcEnabled, "Usar un concepto genérico"),
    catalogueSearch("g-product", "Clave de producto o servicio (c_ClaveProdServ)", "ProductKeys", "productKeys", gc.productKey),
    catalogueSearch("g-unit", "Clave de unidad (c_ClaveUnidad)", "UnitKeys", "unitKeys", gc.unitKey),
    field("g-description", "Descripción", gcDescription), gcOut, gcButton);
  gcForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(gcButton, async () => {
      const input = { enabled: gcEnabled.checked, productKey: $("g-product").value.trim() || null, unitKey: $("g-unit").value.trim() || null, description: gcDescription.value.trim() || null };
      const { updateGenericConcept: r } = await gql("UpdateGenericConcept", { input });
      if (r.__typename === "InvalidSettings") refused(gcOut, r.errors);
      else saved(gcOut, "Concepto guardado.");
    });
  });

  // Branding with a live preview of the portal's head.
  const b = (portal && portal.branding) || {};
  const displayName = h("input", { id: "b-name", value: b.displayName || "", maxlength: 120, autocomplete: "organization" });
  const accent = h("input", { id: "b-accent", type: "color", value: b.accentColor || "#0b5c4a" });
  const logo = h("input", { id: "b-logo", type: "file", accept: "image/png,image/svg+xml" });
  const removeLogo = h("input", { id: "b-remove-logo", type: "checkbox" });
  const previewLogo = h("img", { alt: "", src: b.logoUrl || "", hidden: !b.logoUrl, id: "preview-logo" });
  const previewName = h("strong", { id: "preview-name" });
  const mast = h("div", { class: "mast" }, previewLogo, h("div", {}, h("p", {}, "Facturación electrónica · CFDI 4.0"), previewName));
  const fakeButton = h("span", { class: "fake-button" }, "Buscar ticket");
  const preview = h("div", { class: "preview", id: "branding-preview", "aria-label": "Vista previa del portal" }, mast,
    h("div", { class: "body" }, "1. Datos del ticket", h("br"), fakeButton));
  let objectUrl = null;
  const refresh = () => {
    previewName.textContent = displayName.value.trim() || me.legalName;
    mast.style.setProperty("background", accent.value);
    fakeButton.style.setProperty("background", accent.value);
    if (removeLogo.checked) previewLogo.hidden = true;
    else if (logo.files[0]) {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(logo.files[0]);
      previewLogo.src = objectUrl;
      previewLogo.hidden = false;
    } else previewLogo.hidden = !b.logoUrl;
  };
  for (const el of [displayName, accent, logo, removeLogo]) el.addEventListener("input", refresh);
  logo.addEventListener("change", refresh);
  refresh();
  const brandOut = h("div", { role: "status" });
  const brandButton = h("button", { type: "submit", class: "primary", id: "save-branding" }, "Guardar marca");
  const brandForm = h("form", { class: "card", id: "branding-form" }, h("h2", {}, "Marca del portal"),
    h("div", { class: "two" }, h("div", {},
      field("b-name", "Nombre comercial", displayName, "Vacío: tu razón social."),
      field("b-accent", "Color", accent),
      field("b-logo", "Logotipo (PNG o SVG, hasta 200 kB)", logo),
      h("label", { class: "check", for: "b-remove-logo" }, removeLogo, "Quitar el logotipo")),
    h("div", {}, h("p", { class: "hint" }, "Así se verá tu portal:"), preview,
      h("p", {}, h("a", { href: `/${me.companyNumber}`, target: "_blank", rel: "noopener", id: "open-portal" }, "Abrir mi portal")))),
    brandOut, brandButton);
  brandForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(brandButton, async () => {
      const input = { displayName: displayName.value.trim(), accentColor: accent.value.toUpperCase() };
      if (removeLogo.checked) input.logo = "";
      else if (logo.files[0]) input.logo = await readFileBase64(logo.files[0]);
      const { updateBranding: r } = await gql("UpdateBranding", { input });
      if (r.__typename === "InvalidSettings") refused(brandOut, r.errors);
      else saved(brandOut, "Marca guardada: tu portal ya la muestra.");
    });
  });

  return h("div", {}, h("h1", {}, "Ajustes"), h("div", { class: "two" }, rules, h("div", {}, seriesForm, gcForm)), brandForm);
}

// --- API keys and webhooks -----------------------------------------------------------------

async function integrationsView() {
  const [{ apiKeys }, { webhookEndpoints }] = await Promise.all([gql("ApiKeys"), gql("WebhookEndpoints")]);
  const keyRows = apiKeys.map((k) => h("tr", { "data-key": k.name }, h("td", {}, k.name), h("td", { class: "mono" }, `${k.prefix}…`),
    h("td", { class: "hide-phone" }, k.scopes.map((s) => SCOPES[s] || s).join(", ")),
    h("td", { class: "hide-phone" }, k.lastUsedAt ? fmtDate(k.lastUsedAt) : "Nunca"),
    h("td", {}, k.revokedAt ? badge("CANCELLED", { CANCELLED: "Revocada" }) : h("button", { type: "button", class: "danger", onclick: (e) => {
      if (!window.confirm(`¿Revocar la llave «${k.name}»? Dejará de funcionar de inmediato.`)) return;
      busy(e.target, async () => {
        const { revokeApiKey: r } = await gql("RevokeApiKey", { id: k.id });
        if (r.__typename === "ApiKey") redrawWith(`Llave «${k.name}» revocada.`); else fail(errorsText(r.errors));
      });
    } }, "Revocar"))));
  const name = h("input", { id: "k-name", maxlength: 100, autocomplete: "off", placeholder: "Caja 1" });
  const scopeBoxes = Object.entries(SCOPES).map(([v, l]) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "scope", value: v, checked: v === "SALES_WRITE" || v === "SALES_READ" }), l));
  const keyOut = h("div", { id: "key-secret", role: "status" });
  const keyButton = h("button", { type: "submit", class: "primary", id: "create-key" }, "Crear llave");
  const keyForm = h("form", { class: "card", id: "key-form" }, h("h2", {}, "Nueva llave de API"),
    field("k-name", "Para qué es", name), h("fieldset", {}, h("legend", {}, "Permisos"), scopeBoxes), keyOut, keyButton);
  keyForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const scopes = [...keyForm.querySelectorAll("input[name=scope]:checked")].map((c) => c.value);
    busy(keyButton, async () => {
      const { createApiKey: r } = await gql("CreateApiKey", { input: { name: name.value.trim(), scopes } });
      if (r.__typename === "InvalidApiKey") return refused(keyOut, r.errors);
      const list = (await integrationsView());
      $("view").replaceChildren(list);
      $("key-secret").replaceChildren(h("div", { class: "secret" },
        h("p", {}, h("strong", {}, "Copia la llave ahora: no volverá a mostrarse.")),
        h("p", { class: "mono", id: "new-secret" }, r.secret)));
      $("key-secret").scrollIntoView({ block: "center" });
    });
  });

  const hookRows = webhookEndpoints.map((w) => h("section", { class: "card", "data-endpoint": w.url }, h("h3", { class: "mono" }, w.url),
    h("p", { class: "hint" }, w.events.map((ev) => EVENTS[ev] || ev).join(", ")),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Evento"), h("th", {}, "Estado"), h("th", { class: "num hide-phone" }, "Intentos"), h("th", { class: "hide-phone" }, "Última respuesta"), h("th", {}, ""))),
      h("tbody", {}, w.recentDeliveries.length ? w.recentDeliveries.map((d) => h("tr", {}, h("td", {}, EVENTS[d.event] || d.event),
        h("td", {}, badge(d.status, { PENDING: "Pendiente", DELIVERED: "Entregado", FAILED: "Falló" })), h("td", { class: "num hide-phone" }, d.attempts),
        h("td", { class: "hide-phone" }, d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : (d.lastError || "—")),
        h("td", {}, d.status === "DELIVERED" ? "" : h("button", { type: "button", class: "secondary", onclick: (e) => busy(e.target, async () => {
          const { retryWebhookDelivery: r } = await gql("RetryWebhookDelivery", { id: d.id });
          if (r.__typename === "WebhookDelivery") redrawWith("Entrega reintentada."); else fail(errorsText(r.errors));
        }) }, "Reintentar"))))
        : h("tr", {}, h("td", { colspan: 5 }, "Sin entregas recientes."))))),
    h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: (e) => {
      if (!window.confirm(`¿Dejar de enviar a ${w.url}?`)) return;
      busy(e.target, async () => { await gql("DeleteWebhookEndpoint", { id: w.id }); route(); });
    } }, "Eliminar"))));
  const url = h("input", { id: "w-url", type: "url", autocomplete: "off", placeholder: "https://mi-sistema.example/webhooks" });
  const eventBoxes = Object.entries(EVENTS).map(([v, l]) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "event", value: v, checked: true }), l));
  const hookOut = h("div", { role: "status" });
  const hookButton = h("button", { type: "submit", class: "primary", id: "create-webhook" }, "Agregar webhook");
  const hookForm = h("form", { class: "card", id: "webhook-form" }, h("h2", {}, "Nuevo webhook"), field("w-url", "URL", url),
    h("fieldset", {}, h("legend", {}, "Eventos"), eventBoxes), hookOut, hookButton);
  hookForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const events = [...hookForm.querySelectorAll("input[name=event]:checked")].map((c) => c.value);
    busy(hookButton, async () => {
      const { createWebhookEndpoint: r } = await gql("CreateWebhookEndpoint", { input: { url: url.value.trim(), events } });
      if (r.__typename === "InvalidWebhookEndpoint") return refused(hookOut, r.errors);
      hookOut.replaceChildren(h("div", { class: "secret" }, h("p", {}, h("strong", {}, "Secreto de firma (solo se muestra ahora):")), h("p", { class: "mono" }, r.secret)));
    });
  });

  return h("div", {}, h("h1", {}, "Llaves de API y webhooks"),
    h("section", { class: "card table-wrap" }, h("h2", {}, "Llaves de API"), h("table", { id: "keys" },
      h("thead", {}, h("tr", {}, h("th", {}, "Nombre"), h("th", {}, "Prefijo"), h("th", { class: "hide-phone" }, "Permisos"), h("th", { class: "hide-phone" }, "Último uso"), h("th", {}, ""))),
      h("tbody", {}, keyRows.length ? keyRows : h("tr", {}, h("td", { colspan: 5 }, "Aún no hay llaves."))))),
    keyForm, h("h2", {}, "Webhooks"), hookRows, hookForm);
}

// --- CSD -----------------------------------------------------------------------------------

async function csdView() {
  const { me } = await gql("ConsoleSettings");
  const csd = me.csd;
  const cer = h("input", { id: "c-cer", type: "file", accept: ".cer" });
  const key = h("input", { id: "c-key", type: "file", accept: ".key" });
  const password = h("input", { id: "c-password", type: "password", autocomplete: "off" });
  const out = h("div", { role: "status", id: "csd-result" });
  const submit = h("button", { type: "submit", class: "primary", id: "replace-csd" }, "Renovar CSD");
  const form = h("form", { class: "card", id: "csd-form" }, h("h2", {}, "Renovar el CSD"),
    h("p", { class: "hint" }, "El nuevo Certificado de Sello Digital del mismo RFC; las facturas nuevas lo usan de inmediato."),
    field("c-cer", "Certificado (.cer)", cer), field("c-key", "Llave privada (.key)", key), field("c-password", "Contraseña de la llave", password), out, submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!cer.files[0] || !key.files[0] || !password.value) { out.replaceChildren(h("p", { class: "alert" }, "Elige el .cer, el .key y escribe la contraseña.")); return; }
    busy(submit, async () => {
      const input = { certificate: await readFileBase64(cer.files[0]), privateKey: await readFileBase64(key.files[0]), keyPassword: password.value };
      const { replaceCsd: r } = await gql("ReplaceCsd", { input });
      if (r.__typename === "InvalidMerchantData") return refused(out, r.errors);
      $("view").replaceChildren(await csdView());  // the card above shows the new certificate
      saved($("csd-result"), `CSD ${r.csd.serialNumber} renovado: vigente hasta el ${fmtDate(r.csd.validUntil)}`);
    });
  });
  return h("div", {}, h("h1", {}, "Certificado de Sello Digital"),
    h("section", { class: "card" }, facts([["RFC", me.rfc], ["Número de certificado", h("span", { class: "mono" }, csd.serialNumber)],
      ["Vigente desde", fmtDate(csd.validFrom)], ["Vence", fmtDate(csd.validUntil)],
      ["Días restantes", csd.daysLeft < 0 ? "Vencido" : String(csd.daysLeft)]])), form);
}

// --- start ---------------------------------------------------------------------------------

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.hash = ""; showLogin(); });
window.addEventListener("hashchange", route);
route().then(() => { document.body.dataset.ready = "true"; });

// Reference self-invoicing portal. Plain ES module, no build step.
// Every request uses a document from operations.js (generated from
// frontend-contract/operations/), sent Apollo-style: the sha256 first, the text only when
// the server answers PersistedQueryNotFound.
import { operations } from "./operations.js";

const $ = (id) => document.getElementById(id);

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
    throw new GraphQLFailure([{ message: `HTTP ${response.status}` }]);
  }
  return response.json();
}

async function gql(name, variables, token) {
  const op = operations[name];
  const body = {
    operationName: name,
    variables,
    extensions: { persistedQuery: { version: 1, sha256Hash: op.sha256 } },
  };
  let result = await post(body, token);
  const notFound = (result.errors || []).some((e) => e.extensions && e.extensions.code === "PERSISTED_QUERY_NOT_FOUND");
  if (notFound) result = await post({ ...body, query: op.document }, token);
  if (result.errors && result.errors.length) throw new GraphQLFailure(result.errors);
  return result.data;
}

// --- proof of work (ALTCHA) ---------------------------------------------------------------
// After many failed lookups of one company the server answers TicketChallenge instead: an
// ALTCHA challenge (JSON). The ALTCHA widget's PBKDF2 worker, vendored under
// /static/vendor/altcha/ (MIT; same origin, so the page's CSP allows it), finds the answer
// off the main thread; the same lookup is then sent again with the payload.

const CHALLENGE_FAILED = "No se pudo completar la verificación automática. Intenta de nuevo.";

function solveChallenge(challengeJson) {
  const challenge = JSON.parse(challengeJson);
  return new Promise((resolve, reject) => {
    const worker = new Worker("/static/vendor/altcha/pbkdf2.js");
    const fail = () => { worker.terminate(); reject(new Error(CHALLENGE_FAILED)); };
    worker.onerror = fail;
    worker.onmessage = ({ data }) => {
      if (!data || data.error || typeof data.counter !== "number") return fail();
      worker.terminate();
      resolve(btoa(JSON.stringify({ challenge, solution: data })));
    };
    worker.postMessage({ type: "work", challenge, counterStart: 0, counterStep: 1, timeout: 90000 });
  });
}

// --- formatting ----------------------------------------------------------------------------

const money = new Intl.NumberFormat("es-MX", { style: "currency", currency: "MXN" });
// One date format everywhere (issue 15): es-MX, day month year, 24 h time and the time
// zone named, so "10:30" is never ambiguous between Tijuana, Ciudad de México and Cancún.
const when = new Intl.DateTimeFormat("es-MX", {
  day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  timeZoneName: "long",
});
const formatMoney = (decimal) => money.format(Number(decimal));
const formatDate = (iso) => (iso ? when.format(new Date(iso)) : "");
const STATUS = {
  PENDING: "En proceso de timbrado…",
  ISSUED: "Factura emitida",
  CANCELLATION_PENDING: "Cancelación en proceso",
  CANCELLED: "Factura cancelada",
};

// --- state ---------------------------------------------------------------------------------

const state = {
  companyNumber: null, // from the path /{companyNumber}
  ticket: null, // InvoiceableTicket
  personType: null,
  idempotencyKey: null,
  invoiceId: null,
  accessToken: null,
  extras: [], // more InvoiceableTickets of the same merchant for the same invoice
  correcting: false, // the customer form corrects the issued invoice (correctInvoice)
  customer: null, // the data the invoice was issued with
  wanted: {}, // select values to choose once their options arrive (remembered data, Constancia)
};

const REMEMBER_KEY = "autofactura.customer.v1";

const FIELD_IDS = {
  "customer.rfc": "rfc",
  "customer.legalName": "legalName",
  "customer.zipCode": "zipCode",
  "customer.taxRegime": "taxRegime",
  "customer.cfdiUse": "cfdiUse",
  "customer.email": "email",
  rfc: "rfc",
  legalName: "legalName",
  zipCode: "zipCode",
  taxRegime: "taxRegime",
  cfdiUse: "cfdiUse",
  email: "email",
};

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `k-${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// --- field and form messages ---------------------------------------------------------------

function setFieldError(id, message) {
  const input = $(id);
  $(`${id}-error`).textContent = message || "";
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function clearErrors(form, alertId) {
  form.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  showAlert(alertId, "");
}

function showAlert(id, message, kind) {
  const el = $(id);
  el.textContent = message || "";
  el.hidden = !message;
  el.classList.toggle("info", kind === "info");
}

function focusFirstInvalid(form) {
  const first = form.querySelector("[aria-invalid='true']");
  if (first) first.focus();
}

function busy(button, on, label) {
  if (on) {
    button.dataset.label = button.textContent;
    button.textContent = label;
    button.disabled = true;
  } else {
    button.textContent = button.dataset.label || button.textContent;
    button.disabled = false;
  }
}

function failureMessage(error) {
  if (error instanceof GraphQLFailure) {
    if (error.codes.includes("UNAUTHENTICATED") || error.codes.includes("FORBIDDEN")) {
      return "Tu sesión para este ticket expiró. Vuelve a buscar el ticket.";
    }
    if (error.codes.includes("TOO_MANY_REQUESTS")) return error.message; // "Intenta de nuevo en N minutos."
    return `El servidor no pudo atender la solicitud (${error.message}). Intenta de nuevo.`;
  }
  if (error.message === CHALLENGE_FAILED) return CHALLENGE_FAILED;
  return "No hay conexión con el servidor. Revisa tu conexión e intenta de nuevo.";
}

// --- steps ---------------------------------------------------------------------------------

function showStep(step) {
  const order = ["ticket", "customer", "done"];
  order.forEach((name, i) => {
    const marker = $(`step-${name}-marker`);
    if (name === step) marker.setAttribute("aria-current", "step");
    else marker.removeAttribute("aria-current");
    marker.classList.toggle("done", i < order.indexOf(step));
  });
  // Once found, the ticket stays on screen read-only, so the customer sees what they invoice;
  // once issued, the fiscal data form goes away (the invoice card summarises it).
  document.body.dataset.step = step;
  $("step-customer").hidden = step !== "customer";
  $("step-done").hidden = step !== "done";
  $("ticket-form").querySelectorAll("input").forEach((el) => { el.readOnly = step !== "ticket"; });
  $("lookup-button").hidden = step !== "ticket";
  if (step !== "ticket") $("recover-form").hidden = true;
}

// --- merchant name and brand -----------------------------------------------------------------

const HEX_COLOR = /^#[0-9A-Fa-f]{6}$/;

// White or near-black text on the accent colour, whichever contrasts more (WCAG relative
// luminance), so a pale brand colour still leaves the heading readable.
function inkFor(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) ? "#ffffff" : "#1d2430";
}

// The page's Content-Security-Policy forbids inline styles (style-src 'self'): the accent
// colour goes in through the CSSOM as a custom property, which the policy allows, and the
// logo is an <img> from this origin (img-src 'self').
function applyBranding(portal) {
  const branding = portal.branding || {};
  const displayName = branding.displayName || portal.merchantName;
  $("merchant-name").textContent = displayName;
  const legal = $("merchant-legal-name");
  legal.textContent = portal.merchantName;
  legal.hidden = displayName === portal.merchantName;
  const root = document.documentElement.style;
  if (branding.accentColor && HEX_COLOR.test(branding.accentColor)) {
    root.setProperty("--brand", branding.accentColor);
    root.setProperty("--brand-ink", inkFor(branding.accentColor));
  } else {
    root.removeProperty("--brand");
    root.removeProperty("--brand-ink");
  }
  const logo = $("merchant-logo");
  if (branding.logoUrl) {
    logo.src = branding.logoUrl;
    logo.alt = `Logotipo de ${displayName}`;
    logo.hidden = false;
  } else {
    logo.removeAttribute("src");
    logo.hidden = true;
  }
}

async function loadPortal(companyNumber) {
  if (!/^\d+$/.test(companyNumber)) return null;
  try {
    const { portal } = await gql("Portal", { companyNumber });
    if (portal) {
      applyBranding(portal);
      document.title = `Facturación · ${(portal.branding && portal.branding.displayName) || portal.merchantName}`;
      if (!portal.selfInvoicingEnabled) {
        showAlert("ticket-error", "Este comercio no tiene activa la autofacturación en este momento.", "info");
      }
    }
    return portal;
  } catch (error) {
    showAlert("page-error", failureMessage(error));
    return null;
  }
}

// --- step 1: ticket lookup -----------------------------------------------------------------

function normalizeTotal(raw) {
  const text = raw.replace(/[\s$,]/g, "");
  return /^\d+(\.\d{1,2})?$/.test(text) ? text : null;
}

async function lookupTicket(event) {
  event.preventDefault();
  const form = $("ticket-form");
  clearErrors(form, "ticket-error");
  const companyNumber = $("companyNumber").value.trim();
  const reference = $("reference").value.trim();
  const total = normalizeTotal($("total").value);
  if (!/^\d+$/.test(companyNumber)) setFieldError("companyNumber", "Escribe el número de comercio: solo dígitos, como aparece en el ticket.");
  if (!reference) setFieldError("reference", "Escribe la referencia del ticket.");
  if (total === null) setFieldError("total", "Escribe el total con números, por ejemplo 1160.00.");
  if (form.querySelector("[aria-invalid='true']")) return focusFirstInvalid(form);

  const button = $("lookup-button");
  busy(button, true, "Buscando…");
  try {
    const portal = await loadPortal(companyNumber);
    if (!portal) {
      setFieldError("companyNumber", "No encontramos un comercio con ese número. Revisa el ticket.");
      return focusFirstInvalid(form);
    }
    let { ticket } = await gql("TicketLookup", { companyNumber, reference, total });
    if (ticket.__typename === "TicketChallenge") {
      button.textContent = "Verificando…";
      const challenge = await solveChallenge(ticket.challenge);
      button.textContent = "Buscando…";
      ({ ticket } = await gql("TicketLookup", { companyNumber, reference, total, challenge }));
    }
    handleLookup(ticket, companyNumber);
  } catch (error) {
    showAlert("ticket-error", failureMessage(error));
  } finally {
    busy(button, false);
  }
}

function handleLookup(ticket, companyNumber) {
  switch (ticket.__typename) {
    case "InvoiceableTicket":
      state.ticket = ticket;
      state.companyNumber = companyNumber;
      state.idempotencyKey = newKey();
      state.extras = [];
      renderTicketSummary(ticket);
      renderExtras();
      setCorrecting(false);
      showStep("customer");
      prefillRemembered();
      $("rfc").focus();
      return;
    case "TicketNotFound": {
      // Unknown reference and wrong total answer alike: the message concerns both fields.
      setFieldError("total", ticket.message);
      $("reference").setAttribute("aria-invalid", "true");
      return focusFirstInvalid($("ticket-form"));
    }
    case "TicketAlreadyInvoiced":
      showAlert("ticket-error",
        `${ticket.message} Se facturó el ${formatDate(ticket.invoicedAt)} al RFC ${ticket.maskedRfc}.`);
      $("recover-form").hidden = false; // recoverInvoice: the full RFC gives it back
      $("recoverRfc").focus();
      return;
    case "TicketNotInvoiceable":
    case "TicketChallenge": // a second one: the solution came too late or was refused
      showAlert("ticket-error", ticket.message);
      return;
    default:
      showAlert("ticket-error", "Respuesta inesperada del servidor.");
  }
}

function renderTicketSummary(ticket) {
  const box = $("ticket-summary");
  box.replaceChildren();
  const line = (text) => { const p = document.createElement("p"); p.textContent = text; box.append(p); };
  line(`Ticket ${ticket.reference} · ${formatMoney(ticket.total)} · ${formatDate(ticket.soldAt)}`);
  line(`Fecha límite para facturar: ${formatDate(ticket.deadline)}`);
  const list = document.createElement("ul");
  for (const c of ticket.concepts) {
    const li = document.createElement("li");
    li.textContent = `${c.quantity} × ${c.description}: ${formatMoney(c.amount)}`;
    list.append(li);
  }
  box.append(list);
}

// --- step 2: régimen and uso selects -------------------------------------------------------

function personTypeOf(rfc) {
  if (rfc.length === 13) return "PHYSICAL";
  if (rfc.length === 12) return "MORAL";
  return null;
}

function fillSelect(select, entries, placeholder, keep) {
  select.replaceChildren(new Option(placeholder, ""));
  for (const e of entries) select.append(new Option(`${e.code} · ${e.description}`, e.code));
  const wanted = keep || state.wanted[select.id];
  select.value = entries.some((e) => e.code === wanted) ? wanted : "";
  if (select.value) delete state.wanted[select.id];
  select.disabled = entries.length === 0;
}

async function onRfcChange() {
  const rfc = $("rfc").value.trim().toUpperCase();
  const personType = personTypeOf(rfc);
  if (personType === state.personType) return;
  state.personType = personType;
  const regime = $("taxRegime");
  if (!personType) {
    fillSelect(regime, [], "Escribe primero tu RFC", "");
    fillSelect($("cfdiUse"), [], "Elige primero tu régimen fiscal", "");
    return;
  }
  try {
    const { taxRegimes } = await gql("TaxRegimes", { personType });
    if (state.personType !== personType) return; // the RFC changed meanwhile
    fillSelect(regime, taxRegimes, "Elige tu régimen fiscal", regime.value);
    await onRegimeChange();
  } catch (error) {
    showAlert("customer-error", failureMessage(error));
  }
}

async function onRegimeChange() {
  const taxRegime = $("taxRegime").value;
  const use = $("cfdiUse");
  if (!taxRegime) {
    fillSelect(use, [], "Elige primero tu régimen fiscal", "");
    return;
  }
  try {
    const personType = state.personType;
    const { cfdiUses } = await gql("CfdiUses", { taxRegime, personType });
    if ($("taxRegime").value !== taxRegime) return;
    fillSelect(use, cfdiUses, "Elige el uso del CFDI", use.value);
  } catch (error) {
    showAlert("customer-error", failureMessage(error));
  }
}

// --- step 2: issue -------------------------------------------------------------------------

async function issueInvoice(event) {
  event.preventDefault();
  const form = $("customer-form");
  clearErrors(form, "customer-error");
  const value = (id) => $(id).value.trim();
  const customer = {
    rfc: value("rfc").toUpperCase(),
    legalName: value("legalName"),
    zipCode: value("zipCode"),
    taxRegime: value("taxRegime"),
    cfdiUse: value("cfdiUse"),
    email: value("email") || null,
  };
  if (!customer.rfc) setFieldError("rfc", "Escribe tu RFC.");
  else if (!personTypeOf(customer.rfc)) setFieldError("rfc", "El RFC tiene 13 caracteres (persona física) o 12 (persona moral).");
  if (!customer.legalName) setFieldError("legalName", "Escribe tu nombre o razón social.");
  if (!/^\d{5}$/.test(customer.zipCode)) setFieldError("zipCode", "El código postal tiene 5 dígitos.");
  if (!customer.taxRegime) setFieldError("taxRegime", "Elige tu régimen fiscal.");
  if (!customer.cfdiUse) setFieldError("cfdiUse", "Elige el uso del CFDI.");
  if (form.querySelector("[aria-invalid='true']")) return focusFirstInvalid(form);

  const button = $("issue-button");
  busy(button, true, state.correcting ? "Corrigiendo…" : "Facturando…");
  try {
    if (state.correcting) {
      const { correctInvoice: result } = await gql("CorrectInvoice", { input: { customer } }, state.accessToken);
      handleIssue(result, form, customer);
    } else {
      const input = { customer, idempotencyKey: state.idempotencyKey };
      if (state.extras.length) input.additionalTicketTokens = state.extras.map((t) => t.ticketToken);
      const { issueInvoice: result } = await gql("IssueInvoice", { input }, state.ticket.ticketToken);
      handleIssue(result, form, customer);
    }
  } catch (error) {
    showAlert("customer-error", failureMessage(error));
  } finally {
    busy(button, false);
  }
}

function handleIssue(result, form, customer) {
  switch (result.__typename) {
    case "InvoiceIssued":
    case "InvoiceCorrected":
      state.invoiceId = result.invoice.id;
      state.accessToken = result.accessToken;
      state.customer = customer;
      rememberOrForget(customer);
      setCorrecting(false);
      renderInvoice(result.invoice);
      $("invoice-message").textContent = result.message || "";
      $("invoice-message").hidden = !result.message;
      showStep("done");
      $("step-done").focus();
      return;
    case "TicketsNotCombinable":
      markBadTickets(result.errors);
      showAlert("customer-error", `No se puede facturar: ${result.errors.map((e) => e.message).join(" ")}`);
      return;
    case "CorrectionRefused":
      showAlert("customer-error", result.message);
      return;
    case "InvalidCustomerData": {
      const general = [];
      for (const e of result.errors) {
        const id = FIELD_IDS[e.field];
        if (id) {
          const previous = $(`${id}-error`).textContent;
          setFieldError(id, previous ? `${previous} ${e.message}` : e.message);
        } else general.push(e.message);
      }
      if (general.length) showAlert("customer-error", general.join(" "));
      return focusFirstInvalid(form);
    }
    case "StampingFailed":
      showAlert("customer-error", result.retryable
        ? `${result.message} Puedes intentar de nuevo con el mismo botón: no se facturará dos veces.`
        : result.message);
      return;
    case "TicketAlreadyInvoiced":
    case "TicketNotInvoiceable":
      showAlert("customer-error", result.message);
      return;
    default:
      showAlert("customer-error", "Respuesta inesperada del servidor.");
  }
}

// --- step 3: status and downloads ------------------------------------------------------------

function renderInvoice(invoice) {
  $("invoice-status").textContent = STATUS[invoice.status] || invoice.status;
  const facts = $("invoice-facts");
  facts.replaceChildren();
  const fact = (term, text) => {
    if (!text) return;
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = text;
    facts.append(dt, dd);
  };
  fact("Folio fiscal (UUID)", invoice.uuid);
  fact("Serie y folio", [invoice.series, invoice.folio].filter(Boolean).join("-")); // as e-mail and PDF write it
  fact("Receptor", `${invoice.customerName} (${invoice.customerRfc})`);
  fact("Total", formatMoney(invoice.total));
  fact("Fecha", formatDate(invoice.issuedAt));
  $("sandbox-notice").hidden = !invoice.sandbox;
  $("correct-button").hidden = invoice.status !== "ISSUED" || !state.accessToken;
  for (const [id, url] of [["download-xml", invoice.xmlUrl], ["download-pdf", invoice.pdfUrl]]) {
    const link = $(id);
    if (url) {
      link.href = url;
      link.removeAttribute("aria-disabled");
      link.hidden = false;
    } else {
      link.removeAttribute("href");
      link.hidden = true;
    }
  }
  if (invoice.status === "PENDING") setTimeout(refreshInvoice, 2000);
}

async function refreshInvoice() {
  if (!state.invoiceId) return;
  try {
    const { invoice } = await gql("InvoiceStatus", { id: state.invoiceId }, state.accessToken);
    if (invoice) renderInvoice(invoice);
  } catch (error) {
    showAlert("page-error", failureMessage(error));
  }
}

// --- several tickets in one invoice (issue 15) -----------------------------------------------

async function addTicket(event) {
  event.preventDefault();
  const form = $("extra-form");
  clearErrors(form, "extra-error");
  const reference = $("extraReference").value.trim();
  const total = normalizeTotal($("extraTotal").value);
  if (!reference) setFieldError("extraReference", "Escribe la referencia del otro ticket.");
  if (total === null) setFieldError("extraTotal", "Escribe el total con números, por ejemplo 1160.00.");
  if (form.querySelector("[aria-invalid='true']")) return focusFirstInvalid(form);
  const known = [state.ticket, ...state.extras].map((t) => t.reference.toUpperCase());
  if (known.includes(reference.toUpperCase())) {
    setFieldError("extraReference", "Ese ticket ya está en esta factura.");
    return focusFirstInvalid(form);
  }
  const button = $("add-ticket-button");
  busy(button, true, "Buscando…");
  try {
    const companyNumber = state.companyNumber;
    let { ticket } = await gql("TicketLookup", { companyNumber, reference, total });
    if (ticket.__typename === "TicketChallenge") {
      const challenge = await solveChallenge(ticket.challenge);
      ({ ticket } = await gql("TicketLookup", { companyNumber, reference, total, challenge }));
    }
    switch (ticket.__typename) {
      case "InvoiceableTicket":
        state.extras.push(ticket);
        $("extraReference").value = "";
        $("extraTotal").value = "";
        renderExtras();
        $("extraReference").focus();
        return;
      case "TicketNotFound":
        setFieldError("extraTotal", ticket.message);
        $("extraReference").setAttribute("aria-invalid", "true");
        return focusFirstInvalid(form);
      case "TicketAlreadyInvoiced":
        showAlert("extra-error", `${ticket.message} (ticket ${reference})`);
        return;
      default:
        showAlert("extra-error", ticket.message || "Respuesta inesperada del servidor.");
    }
  } catch (error) {
    showAlert("extra-error", failureMessage(error));
  } finally {
    busy(button, false);
  }
}

function renderExtras(bad = {}) {
  const list = $("extra-tickets");
  list.replaceChildren();
  state.extras.forEach((ticket, index) => {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = `Ticket ${ticket.reference} · ${formatMoney(ticket.total)}`
      + (bad[index] ? ` — ${bad[index]}` : "");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "Quitar";
    remove.setAttribute("aria-label", `Quitar el ticket ${ticket.reference}`);
    remove.addEventListener("click", () => {
      state.extras.splice(index, 1);
      state.idempotencyKey = newKey(); // another set of tickets is another request
      renderExtras();
    });
    li.classList.toggle("bad", Boolean(bad[index]));
    li.append(text, remove);
    list.append(li);
  });
  if (state.extras.length) {
    const sum = [state.ticket, ...state.extras].reduce((acc, t) => acc + Math.round(Number(t.total) * 100), 0);
    const li = document.createElement("li");
    li.className = "total-line";
    li.textContent = `${state.extras.length + 1} tickets en una factura · Total ${formatMoney(sum / 100)}`;
    list.append(li);
  }
  state.idempotencyKey = newKey();
}

function markBadTickets(errors) {
  const bad = {};
  for (const e of errors) {
    const match = /^additionalTicketTokens\.(\d+)$/.exec(e.field);
    if (match) bad[Number(match[1])] = e.message;
  }
  renderExtras(bad);
}

// --- remember me on this device (issue 15): localStorage only, opt-in ------------------------

const REMEMBERED_FIELDS = ["rfc", "legalName", "zipCode", "taxRegime", "cfdiUse", "email"];

function remembered() {
  try {
    const data = JSON.parse(window.localStorage.getItem(REMEMBER_KEY) || "null");
    return data && typeof data === "object" ? data : null;
  } catch (error) {
    return null;
  }
}

function rememberOrForget(customer) {
  try {
    if ($("remember").checked) {
      const data = {};
      for (const f of REMEMBERED_FIELDS) data[f] = customer[f] || "";
      window.localStorage.setItem(REMEMBER_KEY, JSON.stringify(data));
    } else {
      window.localStorage.removeItem(REMEMBER_KEY);
    }
  } catch (error) {
    // storage disabled (private mode): nothing to remember, nothing breaks
  }
  $("forget-button").hidden = !remembered();
}

function fillCustomer(data) {
  $("rfc").value = data.rfc || "";
  $("legalName").value = data.legalName || "";
  $("zipCode").value = data.zipCode || "";
  $("email").value = data.email || "";
  state.wanted = { taxRegime: data.taxRegime || "", cfdiUse: data.cfdiUse || "" };
  state.personType = undefined; // reload the régimenes for this RFC
  onRfcChange();
}

function prefillRemembered() {
  const data = remembered();
  $("remember").checked = Boolean(data);
  $("forget-button").hidden = !data;
  if (data && !$("rfc").value) {
    fillCustomer(data);
    showAlert("customer-error", "Llenamos el formulario con los datos guardados en este dispositivo. Revísalos.", "info");
  }
}

function forgetCustomer() {
  try { window.localStorage.removeItem(REMEMBER_KEY); } catch (error) { /* nothing stored */ }
  $("remember").checked = false;
  $("forget-button").hidden = true;
  showAlert("customer-error", "Olvidamos tus datos en este dispositivo.", "info");
}

// --- Constancia de Situación Fiscal pre-fill (optional; CFF art. 83 fr. IX) --------------------

function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function readConstancia() {
  const input = $("constancia");
  const file = input.files && input.files[0];
  setFieldError("constancia", "");
  if (!file || !state.ticket) return;
  if (file.size > 700 * 1024) {
    setFieldError("constancia", "El archivo pesa más de 700 kB: descarga la Constancia del SAT de nuevo, en PDF.");
    return;
  }
  try {
    const { readConstancia: result } = await gql("ReadConstancia", { file: await fileBase64(file) }, state.ticket.ticketToken);
    if (result.__typename === "InvalidConstancia") {
      setFieldError("constancia", result.errors.map((e) => e.message).join(" "));
      return;
    }
    const regimes = result.taxRegimes || [];
    fillCustomer({
      rfc: result.rfc || $("rfc").value,
      legalName: result.legalName || $("legalName").value,
      zipCode: result.zipCode || $("zipCode").value,
      email: $("email").value,
      taxRegime: regimes.length === 1 ? regimes[0].code : "",
      cfdiUse: "",
    });
    for (const id of ["rfc", "legalName", "zipCode"]) validateField(id);
    const list = regimes.map((r) => `${r.code} ${r.description}`).join("; ");
    showAlert("customer-error",
      `Llenamos tus datos con la Constancia. Confírmalos${regimes.length > 1 ? ` y elige tu régimen (${list})` : ""} antes de facturar.`,
      "info");
  } catch (error) {
    setFieldError("constancia", failureMessage(error));
  }
}

// --- correcting the issued invoice (issue 15) --------------------------------------------------

function setCorrecting(on) {
  state.correcting = on;
  $("correction-hint").hidden = !on;
  $("more-tickets").hidden = on;
  $("extra-tickets").hidden = on;
  $("back-button").textContent = on ? "Volver a mi factura" : "Cambiar ticket";
  $("issue-button").textContent = on ? "Emitir factura corregida" : "Facturar";
  $("customer-title").textContent = on ? "2. Corrige tus datos fiscales" : "2. Tus datos fiscales";
}

function startCorrection() {
  setCorrecting(true);
  clearErrors($("customer-form"), "customer-error");
  if (state.customer) fillCustomer(state.customer);
  showStep("customer");
  $("rfc").focus();
}

// --- errors beside a field clear as soon as the field is valid (issue 15) --------------------

const VALIDATORS = {
  companyNumber: (v) => /^\d+$/.test(v.trim()),
  reference: (v) => Boolean(v.trim()),
  total: (v) => normalizeTotal(v) !== null,
  extraReference: (v) => Boolean(v.trim()),
  extraTotal: (v) => normalizeTotal(v) !== null,
  rfc: (v) => Boolean(personTypeOf(v.trim().toUpperCase())) && /^[A-ZÑ&]{3,4}\d{6}[A-Z\d]{3}$/.test(v.trim().toUpperCase()),
  legalName: (v) => Boolean(v.trim()),
  zipCode: (v) => /^\d{5}$/.test(v.trim()),
  taxRegime: (v) => Boolean(v),
  cfdiUse: (v) => Boolean(v),
  recoverRfc: (v) => /^[A-ZÑ&]{3,4}\d{6}[A-Z\d]{3}$/.test(v.trim().toUpperCase()),
  email: (v) => !v.trim() || /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v.trim()),
};

function validateField(id) {
  const input = $(id);
  if (input.getAttribute("aria-invalid") === "true" && VALIDATORS[id](input.value)) setFieldError(id, "");
}

// --- recover my invoice (issue 15) ------------------------------------------------------------

async function recoverInvoice(event) {
  event.preventDefault();
  const form = $("recover-form");
  setFieldError("recoverRfc", ""); // the "ya fue facturado" alert stays: it is the context
  const rfc = $("recoverRfc").value.trim().toUpperCase();
  if (!VALIDATORS.recoverRfc(rfc)) {
    setFieldError("recoverRfc", "Escribe el RFC completo: 13 caracteres persona física, 12 persona moral.");
    return focusFirstInvalid(form);
  }
  const button = $("recover-button");
  busy(button, true, "Buscando…");
  try {
    const variables = {
      companyNumber: $("companyNumber").value.trim(), reference: $("reference").value.trim(),
      total: normalizeTotal($("total").value), rfc,
    };
    const { recoverInvoice: result } = await gql("RecoverInvoice", variables);
    if (result.__typename === "InvoiceIssued") {
      state.invoiceId = result.invoice.id;
      state.accessToken = result.accessToken;
      state.customer = null;
      form.hidden = true;
      renderInvoice(result.invoice);
      $("invoice-message").textContent = "Recuperamos tu factura.";
      $("invoice-message").hidden = false;
      showStep("done");
      $("step-done").focus();
    } else {
      setFieldError("recoverRfc", result.message);
      focusFirstInvalid(form);
    }
  } catch (error) {
    showAlert("ticket-error", failureMessage(error));
  } finally {
    busy(button, false);
  }
}

// --- start ---------------------------------------------------------------------------------

function prefill() {
  const path = window.location.pathname.replace(/\/+$/, "");
  const params = new URLSearchParams(window.location.search);
  const fromPath = /^\/(\d+)$/.exec(path);
  const companyNumber = fromPath ? fromPath[1] : (params.get("companyNumber") || "").trim();
  if (companyNumber) $("companyNumber").value = companyNumber;
  if (params.get("reference")) $("reference").value = params.get("reference");
  if (params.get("total")) $("total").value = params.get("total");
  return companyNumber;
}

function start() {
  const companyNumber = prefill();
  if (companyNumber) loadPortal(companyNumber);
  $("ticket-form").addEventListener("submit", lookupTicket);
  $("companyNumber").addEventListener("change", () => loadPortal($("companyNumber").value.trim()));
  $("customer-form").addEventListener("submit", issueInvoice);
  $("rfc").addEventListener("input", onRfcChange);
  $("taxRegime").addEventListener("change", onRegimeChange);
  $("back-button").addEventListener("click", () => {
    if (state.correcting) {
      setCorrecting(false);
      showStep("done");
      return;
    }
    state.ticket = null;
    state.extras = [];
    renderExtras();
    showStep("ticket");
    $("reference").focus();
  });
  $("refresh-button").addEventListener("click", refreshInvoice);
  $("extra-form").addEventListener("submit", addTicket);
  $("recover-form").addEventListener("submit", recoverInvoice);
  for (const id of ["reference", "total", "companyNumber"]) {
    $(id).addEventListener("input", () => { $("recover-form").hidden = true; });
  }
  $("constancia").addEventListener("change", readConstancia);
  $("forget-button").addEventListener("click", forgetCustomer);
  $("correct-button").addEventListener("click", startCorrection);
  for (const id of Object.keys(VALIDATORS)) {
    $(id).addEventListener("input", () => validateField(id));
    $(id).addEventListener("change", () => validateField(id));
  }
  // Focus the first empty ticket field, so a QR visitor lands on what is left to do.
  const firstEmpty = ["companyNumber", "reference", "total"].map($).find((el) => !el.value);
  if (firstEmpty) firstEmpty.focus();
  else $("lookup-button").focus();
  document.body.dataset.ready = "true";
}

start();

/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** ISO 8601 calendar date (AAAA-MM-DD), a day of the merchant's local calendar. */
  Date: { input: string; output: string; }
  /** ISO 8601 date-time with UTC offset, from 2000-01-01 to 2100-12-31 (UTC). */
  DateTime: { input: string; output: string; }
  /** Amount as a string with two decimals ("1160.00"); accepted as a string or a number. */
  Decimal: { input: string; output: string; }
};

/** What an API key may do; a merchant's session token may do all of it */
export type ApiScope =
  | 'API_KEYS_MANAGE'
  | 'GLOBAL_INVOICES'
  | 'INVOICES_CANCEL'
  | 'INVOICES_READ'
  | 'SALES_READ'
  | 'SALES_WRITE'
  | 'SETTINGS'
  | 'WEBHOOKS_MANAGE';

export type CancelInvoiceInput = {
  /** The invoice's id (Invoice.id) */
  id: Scalars['ID']['input'];
  /** SAT c_MotivoCancelacion: 01 errores con relación (needs replacementUuid), 02 errores sin relación, 03 no se llevó a cabo la operación, 04 operación nominativa relacionada en una factura global */
  reason: Scalars['String']['input'];
  /** Only with reason 01: UUID of another ISSUED invoice of the merchant that replaces this one */
  replacementUuid?: InputMaybe<Scalars['String']['input']>;
};

export type CorrectInvoiceInput = {
  /** The receptor's corrected data (all of it) */
  customer: CustomerInput;
};

export type CorrectionRefusedCode =
  | 'CORRECTION_DEADLINE_PASSED'
  | 'CORRECTION_LIMIT'
  | 'CORRECTION_NOT_ALLOWED'
  | 'CORRECTION_SAME_DATA';

export type CreateApiKeyInput = {
  /** What the key is for, e.g. «Caja 1» (up to 100 characters) */
  name: Scalars['String']['input'];
  scopes: Array<ApiScope>;
};

export type CreateWebhookEndpointInput = {
  events: Array<WebhookEvent>;
  /** https only in production; no local or private addresses */
  url: Scalars['String']['input'];
};

export type CustomerInput = {
  cfdiUse: Scalars['String']['input'];
  /** Where to send the XML and PDF */
  email?: InputMaybe<Scalars['String']['input']>;
  /** Nombre o razón social exactly as in the Constancia de Situación Fiscal */
  legalName: Scalars['String']['input'];
  rfc: Scalars['String']['input'];
  taxRegime: Scalars['String']['input'];
  /** Código postal of the fiscal address (DomicilioFiscalReceptor) */
  zipCode: Scalars['String']['input'];
};

/** Stable machine codes of FieldError, from every domain (services/kernel/codes.py) */
export type ErrorCode =
  | 'CFDI_USE_INVALID'
  | 'CFDI_USE_NOT_ALLOWED'
  | 'COLOR_INVALID'
  | 'CORRECTION_DEADLINE_PASSED'
  | 'CORRECTION_LIMIT'
  | 'CORRECTION_NOT_ALLOWED'
  | 'CORRECTION_SAME_DATA'
  | 'CURSOR_INVALID'
  | 'DESCRIPTION_INVALID'
  | 'DISPLAY_NAME_INVALID'
  | 'DUPLICATE_REFERENCE'
  | 'EMAIL_INVALID'
  | 'EMAIL_TAKEN'
  | 'EVENTS_REQUIRED'
  | 'EXEMPT_NOT_ALLOWED'
  | 'EXPIRED'
  | 'FILE_TOO_LARGE'
  | 'IEPS_WITH_EXEMPT_IVA'
  | 'INVALID'
  | 'INVALID_CERTIFICATE'
  | 'INVOICE_NOT_CANCELLABLE'
  | 'INVOICE_NOT_READY'
  | 'IN_FUTURE'
  | 'ISSUER_RFC_MISMATCH'
  | 'IVA_REQUIRED'
  | 'KEY_MISMATCH'
  | 'LINES_INVALID'
  | 'LOGO_INVALID'
  | 'LOGO_TOO_LARGE'
  | 'MONTHS_INVALID'
  | 'NAME_CAPITAL_REGIME'
  | 'NAME_INVALID'
  | 'NAME_REQUIRED'
  | 'NAME_TOO_LONG'
  | 'NEGATIVE'
  | 'NOTHING_TO_INVOICE'
  | 'NOT_A_CONSTANCIA'
  | 'NOT_A_CSD'
  | 'NOT_A_PDF'
  | 'NOT_BASE64'
  | 'NOT_FOUND'
  | 'NOT_POSITIVE'
  | 'OUT_OF_RANGE'
  | 'PASSWORD_TOO_SHORT'
  | 'PAYMENT_FORM_INVALID'
  | 'PERIODICITY_INVALID'
  | 'PERIODICITY_NOT_ALLOWED'
  | 'PERIODICITY_NOT_SUPPORTED'
  | 'PERIOD_NOT_ENDED'
  | 'PERIOD_REQUIRED'
  | 'PRODUCT_KEY_INVALID'
  | 'RATE_NOT_ALLOWED'
  | 'RATE_WITH_EXEMPT'
  | 'REASON_INVALID'
  | 'REPLACEMENT_INVALID'
  | 'REPLACEMENT_IS_SAME_INVOICE'
  | 'REPLACEMENT_NOT_ALLOWED'
  | 'REPLACEMENT_NOT_FOUND'
  | 'REPLACEMENT_NOT_ISSUED'
  | 'REPLACEMENT_REQUIRED'
  | 'REQUIRED'
  | 'RFC_CHECK_DIGIT'
  | 'RFC_GENERIC_NOT_ALLOWED'
  | 'RFC_INVALID'
  | 'RFC_MISMATCH'
  | 'RFC_REQUIRED'
  | 'SALE_NOT_CANCELLABLE'
  | 'SCOPES_REQUIRED'
  | 'SCOPE_NOT_HELD'
  | 'SERIES_FOLIO_TOO_LONG'
  | 'SERIES_INVALID'
  | 'SERIES_RESERVED'
  | 'TAX_DUPLICATED'
  | 'TAX_REGIME_INVALID'
  | 'TAX_REGIME_PERSON_TYPE'
  | 'TAX_TYPE_INVALID'
  | 'TICKET_ALREADY_INVOICED'
  | 'TICKET_NOT_INVOICEABLE'
  | 'TICKET_OTHER_MERCHANT'
  | 'TICKET_REPEATED'
  | 'TICKET_TOKEN_INVALID'
  | 'TICKET_TOTAL_MISMATCH'
  | 'TOO_LARGE'
  | 'TOO_LONG'
  | 'TOO_MANY'
  | 'TOO_MANY_DECIMALS'
  | 'TOO_MANY_EMAILS'
  | 'TOO_MANY_ENDPOINTS'
  | 'TOO_MANY_KEYS'
  | 'TOO_MANY_TICKETS'
  | 'TOTAL_NOT_POSITIVE'
  | 'UNIT_KEY_INVALID'
  | 'UNREADABLE'
  | 'URL_INVALID'
  | 'URL_NOT_HTTPS'
  | 'URL_NOT_PUBLIC'
  | 'WRONG_PASSWORD'
  | 'YEAR_OUT_OF_RANGE'
  | 'ZIP_CODE_INVALID';

export type GenericConceptInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  enabled: Scalars['Boolean']['input'];
  /** c_ClaveProdServ, e.g. 01010101 */
  productKey?: InputMaybe<Scalars['String']['input']>;
  /** c_ClaveUnidad, e.g. ACT */
  unitKey?: InputMaybe<Scalars['String']['input']>;
};

/** A period: by `day` (any day inside it) for every periodicity, or by months and year for 04 and 05 */
export type GlobalInvoiceInput = {
  /** Any day of the period (merchant's local calendar); required for 01, 02 and 03 */
  day?: InputMaybe<Scalars['Date']['input']>;
  /** c_Meses: 01-12 with mensual, 13 (enero-febrero) to 18 with bimestral */
  months?: InputMaybe<Scalars['String']['input']>;
  /** c_Periodicidad: 01 diario, 02 semanal, 03 quincenal, 04 mensual, 05 bimestral (Régimen 621 only) */
  periodicity: Scalars['String']['input'];
  /** InformacionGlobal@Año: the year of issue or the one before */
  year?: InputMaybe<Scalars['Int']['input']>;
};

/** c_Periodicidad of the facturas globales (Guía de llenado del CFDI global) */
export type GlobalInvoicePeriodicity =
  | 'BIMONTHLY'
  | 'DAILY'
  | 'FORTNIGHTLY'
  | 'MONTHLY'
  | 'WEEKLY';

export type GlobalInvoiceStatus =
  | 'CANCELLATION_PENDING'
  | 'CANCELLED'
  | 'ISSUED'
  | 'PENDING';

export type InvoiceStatus =
  | 'CANCELLATION_PENDING'
  | 'CANCELLED'
  | 'ISSUED'
  | 'PENDING';

export type IssueInvoiceInput = {
  /** More tickets of the same merchant (their ticketToken, at most 20) for one invoice whose concepts are all the tickets' lines and whose Total is their sum; every ticket must be invoiceable. */
  additionalTicketTokens?: InputMaybe<Array<Scalars['String']['input']>>;
  customer: CustomerInput;
  /** Retrying with the same key returns the same result and never issues twice. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
};

export type NotInvoiceableReason =
  | 'CANCELLED'
  | 'DEADLINE_PASSED'
  | 'IN_GLOBAL_INVOICE'
  | 'SELF_INVOICING_DISABLED';

/** Why a call to the PAC failed */
export type PacErrorCode =
  | 'CANCEL_REFUSED'
  | 'CANCEL_THROTTLED'
  | 'CFDI_REFUSED'
  | 'CSD_CANNOT_SIGN'
  | 'PAC_BAD_ANSWER'
  | 'PAC_CREDENTIALS'
  | 'PAC_ERROR'
  | 'PAC_TIMEOUT'
  | 'PAC_UNAVAILABLE'
  | 'SAT_UNAVAILABLE'
  | 'STAMP_NOT_READY';

export type PersonType =
  | 'MORAL'
  | 'PHYSICAL';

export type RecordSaleInput = {
  /** When given, the portal link and the ticket data are sent there */
  customerEmail?: InputMaybe<Scalars['String']['input']>;
  /** At most 500 lines */
  lines: Array<SaleLineInput>;
  /** c_FormaPago, e.g. 01 efectivo, 04 tarjeta de crédito, 28 tarjeta de débito */
  paymentForm: Scalars['String']['input'];
  /** The merchant's reference printed on the ticket; unique per merchant */
  reference: Scalars['String']['input'];
  /** Defaults to now */
  soldAt?: InputMaybe<Scalars['DateTime']['input']>;
};

export type RegisterMerchantInput = {
  /** The CSD certificate (.cer, DER) in base64 */
  certificate: Scalars['String']['input'];
  email: Scalars['String']['input'];
  /** The password of the CSD's .key (not the e.firma's) */
  keyPassword: Scalars['String']['input'];
  /** At least 10 characters */
  password: Scalars['String']['input'];
  /** The CSD private key (.key, encrypted DER) in base64 */
  privateKey: Scalars['String']['input'];
  /** c_RegimenFiscal, e.g. 601 or 612 */
  taxRegime: Scalars['String']['input'];
  /** LugarExpedicion: a c_CodigoPostal code */
  zipCode: Scalars['String']['input'];
};

export type ReplaceCsdInput = {
  /** The new CSD certificate (.cer, DER) in base64; same RFC */
  certificate: Scalars['String']['input'];
  keyPassword: Scalars['String']['input'];
  /** The new CSD private key (.key, encrypted DER) in base64 */
  privateKey: Scalars['String']['input'];
};

export type SaleLineInput = {
  description: Scalars['String']['input'];
  /** c_ClaveProdServ */
  productKey: Scalars['String']['input'];
  quantity: Scalars['Decimal']['input'];
  /** Defaults to IVA 16 % */
  taxes?: InputMaybe<Array<TaxInput>>;
  /** c_ClaveUnidad */
  unitKey: Scalars['String']['input'];
  /** Price per unit the customer paid, taxes included (as printed on a retail ticket) */
  unitPrice: Scalars['Decimal']['input'];
};

export type SaleStatus =
  | 'CANCELLED'
  | 'INVOICED'
  | 'IN_GLOBAL_INVOICE'
  | 'OPEN';

export type SelfInvoicingSettingsInput = {
  deadlineDays?: InputMaybe<Scalars['Int']['input']>;
  globalInvoiceAutomatic?: InputMaybe<Scalars['Boolean']['input']>;
  globalInvoicePeriodicity?: InputMaybe<GlobalInvoicePeriodicity>;
  monthEndLimit?: InputMaybe<Scalars['Boolean']['input']>;
};

export type TaxInput = {
  exempt?: InputMaybe<Scalars['Boolean']['input']>;
  /** 0.16, 0.08, 0 ...; omit with exempt */
  rate?: InputMaybe<Scalars['Decimal']['input']>;
  /** IVA or IEPS */
  type: Scalars['String']['input'];
};

export type UpdateBrandingInput = {
  /** #RRGGBB; "" removes it; null keeps it */
  accentColor?: InputMaybe<Scalars['String']['input']>;
  /** Up to 120 characters; "" removes it; null keeps it */
  displayName?: InputMaybe<Scalars['String']['input']>;
  /** PNG or SVG in base64, at most 200 kB; SVGs are sanitised (no scripts, event handlers nor external references); "" removes it; null keeps it */
  logo?: InputMaybe<Scalars['String']['input']>;
};

export type WebhookDeliveryStatus =
  | 'DELIVERED'
  | 'FAILED'
  | 'PENDING';

/** What a webhook tells; the delivery's JSON carries it as type (e.g. invoice.issued) */
export type WebhookEvent =
  | 'GLOBAL_INVOICE_ISSUED'
  | 'INVOICE_CANCELLATION_PENDING'
  | 'INVOICE_CANCELLED'
  | 'INVOICE_ISSUED'
  | 'SALE_RECORDED';

/** What an API key may do; a merchant's session token may do all of it */
export type ApiScope =
  | 'API_KEYS_MANAGE'
  | 'GLOBAL_INVOICES'
  | 'INVOICES_CANCEL'
  | 'INVOICES_READ'
  | 'SALES_READ'
  | 'SALES_WRITE'
  | 'SETTINGS'
  | 'WEBHOOKS_MANAGE';

export type CancelInvoiceInput = {
  /** The invoice's id (Invoice.id) */
  id: string | number;
  /** SAT c_MotivoCancelacion: 01 errores con relación (needs replacementUuid), 02 errores sin relación, 03 no se llevó a cabo la operación, 04 operación nominativa relacionada en una factura global */
  reason: string;
  /** Only with reason 01: UUID of another ISSUED invoice of the merchant that replaces this one */
  replacementUuid?: string | null | undefined;
};

export type CorrectInvoiceInput = {
  /** The receptor's corrected data (all of it) */
  customer: CustomerInput;
};

export type CorrectionRefusedCode =
  | 'CORRECTION_DEADLINE_PASSED'
  | 'CORRECTION_LIMIT'
  | 'CORRECTION_NOT_ALLOWED'
  | 'CORRECTION_SAME_DATA';

export type CreateApiKeyInput = {
  /** What the key is for, e.g. «Caja 1» (up to 100 characters) */
  name: string;
  scopes: Array<ApiScope>;
};

export type CreateWebhookEndpointInput = {
  events: Array<WebhookEvent>;
  /** https only in production; no local or private addresses */
  url: string;
};

export type CustomerInput = {
  cfdiUse: string;
  /** Where to send the XML and PDF */
  email?: string | null | undefined;
  /** Nombre o razón social exactly as in the Constancia de Situación Fiscal */
  legalName: string;
  rfc: string;
  taxRegime: string;
  /** Código postal of the fiscal address (DomicilioFiscalReceptor) */
  zipCode: string;
};

export type GenericConceptInput = {
  description?: string | null | undefined;
  enabled: boolean;
  /** c_ClaveProdServ, e.g. 01010101 */
  productKey?: string | null | undefined;
  /** c_ClaveUnidad, e.g. ACT */
  unitKey?: string | null | undefined;
};

/** A period: by `day` (any day inside it) for every periodicity, or by months and year for 04 and 05 */
export type GlobalInvoiceInput = {
  /** Any day of the period (merchant's local calendar); required for 01, 02 and 03 */
  day?: string | null | undefined;
  /** c_Meses: 01-12 with mensual, 13 (enero-febrero) to 18 with bimestral */
  months?: string | null | undefined;
  /** c_Periodicidad: 01 diario, 02 semanal, 03 quincenal, 04 mensual, 05 bimestral (Régimen 621 only) */
  periodicity: string;
  /** InformacionGlobal@Año: the year of issue or the one before */
  year?: number | null | undefined;
};

/** c_Periodicidad of the facturas globales (Guía de llenado del CFDI global) */
export type GlobalInvoicePeriodicity =
  | 'BIMONTHLY'
  | 'DAILY'
  | 'FORTNIGHTLY'
  | 'MONTHLY'
  | 'WEEKLY';

export type GlobalInvoiceStatus =
  | 'CANCELLATION_PENDING'
  | 'CANCELLED'
  | 'ISSUED'
  | 'PENDING';

export type InvoiceStatus =
  | 'CANCELLATION_PENDING'
  | 'CANCELLED'
  | 'ISSUED'
  | 'PENDING';

export type IssueInvoiceInput = {
  /** More tickets of the same merchant (their ticketToken, at most 20) for one invoice whose concepts are all the tickets' lines and whose Total is their sum; every ticket must be invoiceable. */
  additionalTicketTokens?: Array<string> | null | undefined;
  customer: CustomerInput;
  /** Retrying with the same key returns the same result and never issues twice. */
  idempotencyKey?: string | null | undefined;
};

export type NotInvoiceableReason =
  | 'CANCELLED'
  | 'DEADLINE_PASSED'
  | 'IN_GLOBAL_INVOICE'
  | 'SELF_INVOICING_DISABLED';

export type PersonType =
  | 'MORAL'
  | 'PHYSICAL';

export type RecordSaleInput = {
  /** When given, the portal link and the ticket data are sent there */
  customerEmail?: string | null | undefined;
  /** At most 500 lines */
  lines: Array<SaleLineInput>;
  /** c_FormaPago, e.g. 01 efectivo, 04 tarjeta de crédito, 28 tarjeta de débito */
  paymentForm: string;
  /** The merchant's reference printed on the ticket; unique per merchant */
  reference: string;
  /** Defaults to now */
  soldAt?: string | null | undefined;
};

export type ReplaceCsdInput = {
  /** The new CSD certificate (.cer, DER) in base64; same RFC */
  certificate: string;
  keyPassword: string;
  /** The new CSD private key (.key, encrypted DER) in base64 */
  privateKey: string;
};

export type SaleLineInput = {
  description: string;
  /** c_ClaveProdServ */
  productKey: string;
  quantity: string;
  /** Defaults to IVA 16 % */
  taxes?: Array<TaxInput> | null | undefined;
  /** c_ClaveUnidad */
  unitKey: string;
  /** Price per unit the customer paid, taxes included (as printed on a retail ticket) */
  unitPrice: string;
};

export type SaleStatus =
  | 'CANCELLED'
  | 'INVOICED'
  | 'IN_GLOBAL_INVOICE'
  | 'OPEN';

export type SelfInvoicingSettingsInput = {
  deadlineDays?: number | null | undefined;
  globalInvoiceAutomatic?: boolean | null | undefined;
  globalInvoicePeriodicity?: GlobalInvoicePeriodicity | null | undefined;
  monthEndLimit?: boolean | null | undefined;
};

export type TaxInput = {
  exempt?: boolean | null | undefined;
  /** 0.16, 0.08, 0 ...; omit with exempt */
  rate?: string | null | undefined;
  /** IVA or IEPS */
  type: string;
};

export type UpdateBrandingInput = {
  /** #RRGGBB; "" removes it; null keeps it */
  accentColor?: string | null | undefined;
  /** Up to 120 characters; "" removes it; null keeps it */
  displayName?: string | null | undefined;
  /** PNG or SVG in base64, at most 200 kB; SVGs are sanitised (no scripts, event handlers nor external references); "" removes it; null keeps it */
  logo?: string | null | undefined;
};

export type WebhookDeliveryStatus =
  | 'DELIVERED'
  | 'FAILED'
  | 'PENDING';

/** What a webhook tells; the delivery's JSON carries it as type (e.g. invoice.issued) */
export type WebhookEvent =
  | 'GLOBAL_INVOICE_ISSUED'
  | 'INVOICE_CANCELLATION_PENDING'
  | 'INVOICE_CANCELLED'
  | 'INVOICE_ISSUED'
  | 'SALE_RECORDED';

export type ApiKeysQueryVariables = Exact<{ [key: string]: never; }>;


export type ApiKeysQuery = { apiKeys: Array<{ id: string, name: string, scopes: Array<ApiScope>, prefix: string, createdAt: string, lastUsedAt: string | null, revokedAt: string | null }> };

export type CancelInvoiceMutationVariables = Exact<{
  input: CancelInvoiceInput;
}>;


export type CancelInvoiceMutation = { cancelInvoice:
    | { __typename: 'InvalidCancellation', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'InvoiceCancelled', invoice: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, cancellationReason: string | null, replacementUuid: string | null, cancelledAt: string | null } }
    | { __typename: 'StampingFailed', message: string, retryable: boolean }
   };

export type CancelSaleMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelSaleMutation = { cancelSale:
    | { __typename: 'InvalidSale', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'SaleCancelled', sale: { id: string, reference: string, status: SaleStatus } }
   };

export type CfdiUsesQueryVariables = Exact<{
  taxRegime: string;
  personType?: PersonType | null | undefined;
}>;


export type CfdiUsesQuery = { cfdiUses: Array<{ code: string, description: string }> };

export type ConsoleGlobalsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ConsoleGlobalsQuery = { dashboardSummary: { timeZone: string }, nextGlobalInvoice: { periodicity: string, periodStart: string, periodEnd: string, overdue: boolean }, globalInvoices: { edges: Array<{ cursor: string, node: { id: string, uuid: string | null, series: string, folio: string, periodicity: string, months: string, year: number, total: string, saleCount: number, status: GlobalInvoiceStatus, issuedAt: string | null, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean, periodStart: string | null, periodEnd: string | null, part: number, cancellationReason: string | null, cancelledAt: string | null, replaces: { id: string, uuid: string | null, series: string, folio: string, status: GlobalInvoiceStatus } | null, replacedBy: { id: string, uuid: string | null, series: string, folio: string, status: GlobalInvoiceStatus } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleInvoiceQueryVariables = Exact<{
  id: string | number;
}>;


export type ConsoleInvoiceQuery = { invoice: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, issuedAt: string | null, total: string, customerRfc: string, customerName: string, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean, cancellationReason: string | null, replacementUuid: string | null, cancelledAt: string | null, cancellationNote: string | null, cancellationAcuse: string | null, pacCalls: Array<{ operation: string, outcome: string, at: string }> } | null };

export type ConsoleInvoicesQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ConsoleInvoicesQuery = { invoices: { edges: Array<{ cursor: string, node: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, issuedAt: string | null, total: string, customerRfc: string, customerName: string, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean, cancellationReason: string | null, replacementUuid: string | null, cancelledAt: string | null, cancellationNote: string | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleOverviewQueryVariables = Exact<{
  days?: number | null | undefined;
}>;


export type ConsoleOverviewQuery = { dashboardSummary: { asOf: string, timeZone: string, pendingGlobalCount: number, pendingGlobalTotal: string, sandbox: boolean, today: { count: number, total: string, selfInvoicedCount: number, selfInvoicedTotal: string }, thisMonth: { count: number, total: string, selfInvoicedCount: number, selfInvoicedTotal: string } }, salesByDay: Array<{ date: string, totals: { count: number, total: string, selfInvoicedCount: number, selfInvoicedTotal: string } }>, me: { companyNumber: string, rfc: string, legalName: string, selfInvoicing: { enabled: boolean }, csd: { serialNumber: string, validFrom: string, validUntil: string, daysLeft: number } }, nextGlobalInvoice: { periodicity: string, months: string, year: number, periodStart: string, periodEnd: string, dueAt: string, deadline: string, saleCount: number, total: string, overdue: boolean, automatic: boolean } };

export type ConsoleSaleQueryVariables = Exact<{
  id: string | number;
}>;


export type ConsoleSaleQuery = { sale: { id: string, reference: string, total: string, soldAt: string, status: SaleStatus, invoicingData: { companyNumber: string, reference: string, total: string, portalUrl: string }, invoice: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, issuedAt: string | null, total: string, customerRfc: string, customerName: string, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean, cancellationReason: string | null, replacementUuid: string | null, cancelledAt: string | null, cancellationNote: string | null } | null } | null };

export type ConsoleSalesQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  reference?: string | null | undefined;
  soldFrom?: string | null | undefined;
  soldTo?: string | null | undefined;
  status?: SaleStatus | null | undefined;
}>;


export type ConsoleSalesQuery = { sales: { edges: Array<{ cursor: string, node: { id: string, reference: string, total: string, soldAt: string, status: SaleStatus, invoice: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleSettingsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleSettingsQuery = { me: { companyNumber: string, rfc: string, legalName: string, email: string, selfInvoicing: { enabled: boolean, monthEndLimit: boolean, deadlineDays: number, series: string, globalInvoicePeriodicity: GlobalInvoicePeriodicity, globalInvoiceAutomatic: boolean, genericConcept: { enabled: boolean, productKey: string | null, unitKey: string | null, description: string | null } }, csd: { serialNumber: string, validFrom: string, validUntil: string, daysLeft: number } } };

export type CorrectInvoiceMutationVariables = Exact<{
  input: CorrectInvoiceInput;
}>;


export type CorrectInvoiceMutation = { correctInvoice:
    | { __typename: 'CorrectionRefused', code: CorrectionRefusedCode, message: string }
    | { __typename: 'InvalidCustomerData', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'InvoiceCorrected', accessToken: string, message: string, invoice: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, issuedAt: string | null, total: string, customerRfc: string, customerName: string, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean }, replaced: { id: string, uuid: string | null, folio: string | null, status: InvoiceStatus, cancellationReason: string | null, replacementUuid: string | null } }
    | { __typename: 'StampingFailed', message: string, retryable: boolean }
   };

export type CreateApiKeyMutationVariables = Exact<{
  input: CreateApiKeyInput;
}>;


export type CreateApiKeyMutation = { createApiKey:
    | { __typename: 'ApiKeyCreated', secret: string, apiKey: { id: string, name: string, scopes: Array<ApiScope>, prefix: string, createdAt: string, lastUsedAt: string | null, revokedAt: string | null } }
    | { __typename: 'InvalidApiKey', errors: Array<{ field: string, code: string, message: string }> }
   };

export type CreateWebhookEndpointMutationVariables = Exact<{
  input: CreateWebhookEndpointInput;
}>;


export type CreateWebhookEndpointMutation = { createWebhookEndpoint:
    | { __typename: 'InvalidWebhookEndpoint', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'WebhookEndpointCreated', secret: string, endpoint: { id: string, url: string, events: Array<WebhookEvent>, createdAt: string } }
   };

export type DeleteWebhookEndpointMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteWebhookEndpointMutation = { deleteWebhookEndpoint:
    | { __typename: 'InvalidWebhookEndpoint', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'WebhookEndpoint', id: string }
   };

export type GlobalInvoicesPageQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type GlobalInvoicesPageQuery = { globalInvoices: { edges: Array<{ cursor: string, node: { id: string, uuid: string | null, series: string, folio: string, periodicity: string, months: string, year: number, total: string, saleCount: number, status: GlobalInvoiceStatus, issuedAt: string | null, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean, periodStart: string | null, periodEnd: string | null, part: number, cancellationReason: string | null, cancelledAt: string | null, replaces: { id: string, uuid: string | null, status: GlobalInvoiceStatus } | null, replacedBy: { id: string, uuid: string | null, status: GlobalInvoiceStatus, total: string } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type InvoiceStatusQueryVariables = Exact<{
  id: string | number;
}>;


export type InvoiceStatusQuery = { invoice: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, issuedAt: string | null, total: string, customerRfc: string, customerName: string, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean } | null };

export type InvoicesPageQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type InvoicesPageQuery = { invoices: { edges: Array<{ cursor: string, node: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, issuedAt: string | null, total: string, customerRfc: string, customerName: string, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type IssueGlobalInvoiceMutationVariables = Exact<{
  input: GlobalInvoiceInput;
}>;


export type IssueGlobalInvoiceMutation = { issueGlobalInvoice:
    | { __typename: 'GlobalInvoiceIssued', includedSales: number, leftOutSales: number, globalInvoice: { id: string, uuid: string | null, series: string, folio: string, periodicity: string, months: string, year: number, total: string, saleCount: number, status: GlobalInvoiceStatus, issuedAt: string | null, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean, periodStart: string | null, periodEnd: string | null, part: number } }
    | { __typename: 'InvalidGlobalInvoice', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'NothingToInvoice', message: string, leftOutSales: number }
    | { __typename: 'StampingFailed', message: string, retryable: boolean }
   };

export type IssueInvoiceMutationVariables = Exact<{
  input: IssueInvoiceInput;
}>;


export type IssueInvoiceMutation = { issueInvoice:
    | { __typename: 'InvalidCustomerData', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'InvoiceIssued', accessToken: string, invoice: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, issuedAt: string | null, total: string, customerRfc: string, customerName: string, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean } }
    | { __typename: 'StampingFailed', message: string, retryable: boolean }
    | { __typename: 'TicketAlreadyInvoiced', invoicedAt: string, maskedRfc: string, message: string }
    | { __typename: 'TicketNotInvoiceable', reason: NotInvoiceableReason, message: string, cutoff: string | null }
    | { __typename: 'TicketsNotCombinable', references: Array<string>, errors: Array<{ field: string, code: string, message: string }> }
   };

export type LoginMutationVariables = Exact<{
  email: string;
  password: string;
  challenge?: string | null | undefined;
}>;


export type LoginMutation = { login:
    | { __typename: 'InvalidCredentials', message: string, retryAfterSeconds: number | null }
    | { __typename: 'LoginChallenge', challenge: string, message: string }
    | { __typename: 'LoginSucceeded', token: string, expiresAt: string }
   };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { companyNumber: string, rfc: string, legalName: string, taxRegime: string, zipCode: string, email: string, certificateNumber: string, certificateValidTo: string | null, selfInvoicing: { enabled: boolean, monthEndLimit: boolean, deadlineDays: number, series: string, genericConcept: { enabled: boolean, productKey: string | null, unitKey: string | null, description: string | null } } } };

export type NextGlobalInvoiceQueryVariables = Exact<{ [key: string]: never; }>;


export type NextGlobalInvoiceQuery = { nextGlobalInvoice: { periodicity: string, months: string, year: number, periodStart: string, periodEnd: string, dueAt: string, deadline: string, saleCount: number, total: string, overdue: boolean, automatic: boolean } };

export type PaymentFormsQueryVariables = Exact<{ [key: string]: never; }>;


export type PaymentFormsQuery = { paymentForms: Array<{ code: string, description: string }> };

export type PortalQueryVariables = Exact<{
  companyNumber: string;
}>;


export type PortalQuery = { portal: { companyNumber: string, merchantName: string, selfInvoicingEnabled: boolean, branding: { displayName: string | null, accentColor: string | null, logoUrl: string | null } | null } | null };

export type ProductKeysQueryVariables = Exact<{
  search: string;
  first?: number | null | undefined;
}>;


export type ProductKeysQuery = { productKeys: Array<{ code: string, description: string }> };

export type ReadConstanciaMutationVariables = Exact<{
  file: string;
}>;


export type ReadConstanciaMutation = { readConstancia:
    | { __typename: 'ConstanciaRead', rfc: string | null, legalName: string | null, zipCode: string | null, taxRegimes: Array<{ code: string, description: string }> }
    | { __typename: 'InvalidConstancia', errors: Array<{ field: string, code: string, message: string }> }
   };

export type RecordSaleMutationVariables = Exact<{
  input: RecordSaleInput;
}>;


export type RecordSaleMutation = { recordSale:
    | { __typename: 'InvalidSale', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'SaleRecorded', created: boolean, sale: { id: string, reference: string, total: string, soldAt: string, status: SaleStatus, invoicingData: { companyNumber: string, reference: string, total: string, portalUrl: string } } }
   };

export type RecordSalesMutationVariables = Exact<{
  inputs: Array<RecordSaleInput> | RecordSaleInput;
}>;


export type RecordSalesMutation = { recordSales:
    | { __typename: 'InvalidSale', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'SalesRecorded', created: number, replayed: number, refused: number, results: Array<
        | { __typename: 'InvalidSale', errors: Array<{ field: string, code: string, message: string }> }
        | { __typename: 'SaleRecorded', created: boolean, sale: { id: string, reference: string, total: string, status: SaleStatus } }
      > }
   };

export type RecoverInvoiceMutationVariables = Exact<{
  companyNumber: string;
  reference: string;
  total: string;
  rfc: string;
}>;


export type RecoverInvoiceMutation = { recoverInvoice:
    | { __typename: 'InvoiceIssued', accessToken: string, invoice: { id: string, uuid: string | null, series: string | null, folio: string | null, status: InvoiceStatus, issuedAt: string | null, total: string, customerRfc: string, customerName: string, xmlUrl: string | null, pdfUrl: string | null, sandbox: boolean } }
    | { __typename: 'TicketNotFound', message: string, retryAfterSeconds: number | null }
   };

export type ReplaceCsdMutationVariables = Exact<{
  input: ReplaceCsdInput;
}>;


export type ReplaceCsdMutation = { replaceCsd:
    | { __typename: 'CsdReplaced', csd: { serialNumber: string, validFrom: string, validUntil: string, daysLeft: number } }
    | { __typename: 'InvalidMerchantData', errors: Array<{ field: string, code: string, message: string }> }
   };

export type ResendInvoiceMutationVariables = Exact<{
  email: string;
}>;


export type ResendInvoiceMutation = { resendInvoice:
    | { __typename: 'InvalidResend', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'InvoiceResent', email: string }
   };

export type RetryWebhookDeliveryMutationVariables = Exact<{
  id: string | number;
}>;


export type RetryWebhookDeliveryMutation = { retryWebhookDelivery:
    | { __typename: 'InvalidWebhookEndpoint', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'WebhookDelivery', id: string, status: WebhookDeliveryStatus, attempts: number, nextAttemptAt: string | null }
   };

export type RevokeApiKeyMutationVariables = Exact<{
  id: string | number;
}>;


export type RevokeApiKeyMutation = { revokeApiKey:
    | { __typename: 'ApiKey', id: string, revokedAt: string | null }
    | { __typename: 'InvalidApiKey', errors: Array<{ field: string, code: string, message: string }> }
   };

export type SalesPageQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type SalesPageQuery = { sales: { edges: Array<{ cursor: string, node: { id: string, reference: string, total: string, soldAt: string, status: SaleStatus, invoicingData: { portalUrl: string }, invoice: { id: string, uuid: string | null, status: InvoiceStatus } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type SetSelfInvoicingMutationVariables = Exact<{
  enabled: boolean;
}>;


export type SetSelfInvoicingMutation = { setSelfInvoicing: { enabled: boolean, monthEndLimit: boolean, deadlineDays: number } };

export type TaxRegimesQueryVariables = Exact<{
  personType?: PersonType | null | undefined;
}>;


export type TaxRegimesQuery = { taxRegimes: Array<{ code: string, description: string }> };

export type TicketLookupQueryVariables = Exact<{
  companyNumber: string;
  reference: string;
  total: string;
  challenge?: string | null | undefined;
}>;


export type TicketLookupQuery = { ticket:
    | { __typename: 'InvoiceableTicket', reference: string, total: string, soldAt: string, deadline: string, merchantName: string, ticketToken: string, concepts: Array<{ description: string, quantity: string, amount: string }> }
    | { __typename: 'TicketAlreadyInvoiced', invoicedAt: string, maskedRfc: string, message: string }
    | { __typename: 'TicketChallenge', challenge: string, message: string }
    | { __typename: 'TicketNotFound', message: string, retryAfterSeconds: number | null }
    | { __typename: 'TicketNotInvoiceable', reason: NotInvoiceableReason, message: string, cutoff: string | null }
   };

export type UnitKeysQueryVariables = Exact<{
  search: string;
  first?: number | null | undefined;
}>;


export type UnitKeysQuery = { unitKeys: Array<{ code: string, description: string }> };

export type UpdateBrandingMutationVariables = Exact<{
  input: UpdateBrandingInput;
}>;


export type UpdateBrandingMutation = { updateBranding:
    | { __typename: 'Branding', displayName: string | null, accentColor: string | null, logoUrl: string | null }
    | { __typename: 'InvalidSettings', errors: Array<{ field: string, code: string, message: string }> }
   };

export type UpdateGenericConceptMutationVariables = Exact<{
  input: GenericConceptInput;
}>;


export type UpdateGenericConceptMutation = { updateGenericConcept:
    | { __typename: 'GenericConcept', enabled: boolean, productKey: string | null, unitKey: string | null, description: string | null }
    | { __typename: 'InvalidSettings', errors: Array<{ field: string, code: string, message: string }> }
   };

export type UpdateInvoiceSeriesMutationVariables = Exact<{
  series: string;
}>;


export type UpdateInvoiceSeriesMutation = { updateInvoiceSeries:
    | { __typename: 'InvalidSettings', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'SelfInvoicingSettings', series: string }
   };

export type UpdateSelfInvoicingSettingsMutationVariables = Exact<{
  input: SelfInvoicingSettingsInput;
}>;


export type UpdateSelfInvoicingSettingsMutation = { updateSelfInvoicingSettings:
    | { __typename: 'InvalidSettings', errors: Array<{ field: string, code: string, message: string }> }
    | { __typename: 'SelfInvoicingSettings', enabled: boolean, monthEndLimit: boolean, deadlineDays: number, globalInvoicePeriodicity: GlobalInvoicePeriodicity, globalInvoiceAutomatic: boolean }
   };

export type WebhookEndpointsQueryVariables = Exact<{ [key: string]: never; }>;


export type WebhookEndpointsQuery = { webhookEndpoints: Array<{ id: string, url: string, events: Array<WebhookEvent>, createdAt: string, recentDeliveries: Array<{ id: string, event: WebhookEvent, status: WebhookDeliveryStatus, attempts: number, lastStatusCode: number | null, lastError: string | null, createdAt: string, nextAttemptAt: string | null, deliveredAt: string | null }> }> };

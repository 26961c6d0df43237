"""The Strawberry schema with its guards: depth, aliases, tokens, caches, masking."""
from __future__ import annotations

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.api_keys.mutations import ApiKeyMutation
from schema.api_keys.queries import ApiKeyQuery
from schema.cancellation.mutations import CancellationMutation
from schema.catalogs.queries import CatalogQuery
from schema.dashboard.queries import DashboardQuery
from schema.global_invoice.mutations import GlobalInvoiceMutation
from schema.global_invoice.queries import GlobalInvoiceQuery
from schema.invoicing.queries import InvoicingQuery
from schema.merchants.mutations import MerchantMutation
from schema.merchants.queries import MerchantQuery
from schema.portal.mutations import PortalMutation
from schema.pipeline import request_guards
from schema.portal.queries import PortalQuery
from schema.sales.mutations import SalesMutation
from schema.sales.queries import SalesQuery
from schema.scalars import SCALAR_MAP
from schema.webhooks.mutations import WebhookMutation
from schema.webhooks.queries import WebhookQuery

# The root types are each domain's fields put together (saleor's graphql/<domain>/). The
# order of the bases is the order of the fields in the exported schema, first base first.
Query = merge_types("Query", (
    PortalQuery, CatalogQuery, InvoicingQuery, MerchantQuery, SalesQuery, GlobalInvoiceQuery, ApiKeyQuery, WebhookQuery,
    DashboardQuery,
))
Mutation = merge_types(
    "Mutation",
    (
        MerchantMutation, PortalMutation, SalesMutation, CancellationMutation, GlobalInvoiceMutation, ApiKeyMutation,
        WebhookMutation,
    ),
)


def build_schema(
    *, production: bool = False, max_depth: int = 10, max_aliases: int = 15, max_tokens: int = 2000
) -> strawberry.Schema:
    # The depth and alias limiters build a new rule class each time they are built; the
    # validation cache keys on the rules, so per-request limiters would never hit it
    # (bench/profile.py: 38 % of a lookup went to re-validating). Build the rules once.
    rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)  # what strawberry's DisableIntrospection adds
    # One extension for every guard (schema/pipeline.py): the token limit, these rules, the
    # parser cache, validation per document, the input guard (NUL, control characters,
    # lone surrogates, over-long strings: BAD_USER_INPUT) and the masking of internal
    # errors; a fresh instance per request (CONVENTIONS 8).
    extensions = [request_guards(max_tokens=max_tokens, rules=rules)]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"

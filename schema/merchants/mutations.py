"""Merchant mutations: login, self-service signup, CSD renewal, branding, series and the
self-invoicing settings."""
from __future__ import annotations

from typing import Annotated, Optional, assert_never

import strawberry

from schema.context import Info
from schema.errors import PublicError
from schema.fields import to_field_errors
from schema.merchants import types as t
from schema.merchants.queries import current_merchant, merchant_or_gone
from schema.permissions import CanChangeSettings, IsMerchant
from services.kernel.results import Invalid
from services.merchants import branding as branding_service
from services.merchants import csd as csd_service
from services.merchants import service as merchants
from services.merchants.models import Csd


@strawberry.type
class MerchantMutation:
    @strawberry.mutation
    async def login(
        self, info: Info, email: str, password: str,
        challenge: Annotated[Optional[str], strawberry.argument(description="A solved LoginChallenge: the ALTCHA payload (base64)")] = None,
    ) -> t.LoginResult:
        services = info.context.services
        session = await merchants.login(
            services.uow_factory, services.tokens, email, password, services.merchant_token_ttl,
            throttle=services.throttle, client=info.context.client_address, challenges=services.challenges,
            challenge=challenge,
        )
        match session:
            case merchants.LoginRefused():
                return t.InvalidCredentials(message=session.message, retry_after_seconds=session.retry_after_seconds)
            case merchants.LoginChallenge():
                return t.LoginChallenge(challenge=session.challenge, message=session.message)
            case merchants.Session():
                return t.LoginSucceeded(token=session.token, expires_at=session.expires_at)
            case _:
                assert_never(session)

    @strawberry.mutation(description="Self-service onboarding from a CSD (setting ALLOW_SIGNUP); throttled per client address")
    async def register_merchant(self, info: Info, input: t.RegisterMerchantInput) -> t.RegisterMerchantResult:
        services = info.context.services
        if not services.allow_signup:
            raise PublicError("El registro de comercios no está habilitado en este servidor.", "FORBIDDEN")
        files = merchants.decode_csd_files(input.certificate, input.private_key)
        if isinstance(files, Invalid):
            return t.InvalidMerchantData(errors=to_field_errors(files.problems))
        cer, key = files
        reg = merchants.MerchantRegistration(
            email=input.email, password=input.password, certificate_der=cer, key_der=key,
            key_password=input.key_password, tax_regime=input.tax_regime, zip_code=input.zip_code,
        )
        result = await merchants.sign_up(
            services.uow_factory, services.box, services.tokens, reg, services.merchant_token_ttl,
            throttle=services.throttle, client=info.context.client_address,
        )
        match result:
            case Invalid(problems=problems):
                return t.InvalidMerchantData(errors=to_field_errors(problems))
            case merchants.SignupThrottled():
                return t.SignupThrottled(message=result.message, retry_after_seconds=result.retry_after_seconds)
            case merchants.SignedUp():
                return t.MerchantRegistered(merchant=t.to_merchant(result.merchant), token=result.session.token)
            case _:
                assert_never(result)

    @strawberry.mutation(permission_classes=[IsMerchant], description="Renew the CSD (same RFC); new invoices use it at once")
    async def replace_csd(self, info: Info, input: t.ReplaceCsdInput) -> t.ReplaceCsdResult:
        ctx = info.context
        files = merchants.decode_csd_files(input.certificate, input.private_key)
        if isinstance(files, Invalid):
            return t.InvalidMerchantData(errors=to_field_errors(files.problems))
        cer, key = files
        result = await csd_service.replace_csd(
            ctx.services.uow_factory, ctx.services.box, ctx.merchant_id,
            certificate_der=cer, key_der=key, key_password=input.key_password,
        )
        match result:
            case Invalid(problems=problems):
                return t.InvalidMerchantData(errors=to_field_errors(problems))
            case None:
                raise PublicError("El comercio de este token ya no existe.", "UNAUTHENTICATED")
            case Csd():
                return t.CsdReplaced(csd=t.to_csd(result))
            case _:
                assert_never(result)

    @strawberry.mutation(permission_classes=[CanChangeSettings])
    async def set_self_invoicing(self, info: Info, enabled: bool) -> t.SelfInvoicingSettings:
        ctx = info.context
        merchant = await merchants.set_self_invoicing(ctx.services.uow_factory, ctx.merchant_id, enabled)
        return t.to_settings(merchant_or_gone(merchant))

    @strawberry.mutation(permission_classes=[CanChangeSettings])
    async def update_self_invoicing_settings(self, info: Info, input: t.SelfInvoicingSettingsInput) -> t.UpdateSettingsResult:
        ctx = info.context
        result = await merchants.update_settings(
            ctx.services.uow_factory, ctx.merchant_id,
            month_end_limit=input.month_end_limit, deadline_days=input.deadline_days,
            global_invoice_periodicity=input.global_invoice_periodicity.value if input.global_invoice_periodicity else None,
            global_invoice_automatic=input.global_invoice_automatic,
        )
        match result:
            case Invalid(problems=problems):
                return t.InvalidSettings(errors=to_field_errors(problems))
            case _:
                return t.to_settings(merchant_or_gone(result))

    @strawberry.mutation(
        permission_classes=[CanChangeSettings],
        description="Series (Comprobante@Serie, 1-25 characters, no |) of the next self-invoices; folios are gapless per series",
    )
    async def update_invoice_series(self, info: Info, series: str) -> t.UpdateSettingsResult:
        ctx = info.context
        result = await merchants.update_series(ctx.services.uow_factory, ctx.merchant_id, series)
        match result:
            case Invalid(problems=problems):
                return t.InvalidSettings(errors=to_field_errors(problems))
            case _:
                return t.to_settings(merchant_or_gone(result))

    @strawberry.mutation(permission_classes=[CanChangeSettings], description="Display name, logo and accent colour of the portal and PDFs")
    async def update_branding(self, info: Info, input: t.UpdateBrandingInput) -> t.UpdateBrandingResult:
        ctx = info.context
        merchant = await current_merchant(info)
        result = await branding_service.update_branding(
            ctx.services.uow_factory, merchant.id, display_name=input.display_name, logo=input.logo,
            accent_color=input.accent_color,
        )
        match result:
            case Invalid(problems=problems):
                return t.InvalidSettings(errors=to_field_errors(problems))
            case branding_service.Branding():
                return t.to_branding(result, ctx.services.public_url, merchant.company_number)
            case _:
                assert_never(result)

    @strawberry.mutation(permission_classes=[CanChangeSettings])
    async def update_generic_concept(self, info: Info, input: t.GenericConceptInput) -> t.UpdateGenericConceptResult:
        ctx = info.context
        result = await merchants.update_generic_concept(
            ctx.services.uow_factory, ctx.merchant_id, enabled=input.enabled,
            product_key=input.product_key, unit_key=input.unit_key, description=input.description,
        )
        match result:
            case Invalid(problems=problems):
                return t.InvalidSettings(errors=to_field_errors(problems))
            case _:
                return t.to_generic_concept(merchant_or_gone(result))

from django import forms
from django.contrib import admin

from programs.activity import verb_choices
from programs.models import (
    ActivityEvent,
    Integration,
    LaunchStep,
    Membership,
    Organization,
    Participant,
    ParticipantImport,
    Program,
    SupportRequest,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "country", "support_advisor_email"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "pairing_process", "pairing_enabled"]
    list_filter = ["pairing_process", "pairing_enabled"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "role", "program"]
    list_filter = ["role"]
    search_fields = ["email", "first_name", "last_name"]
    list_select_related = ["program"]
    raw_id_fields = ["program"]


@admin.register(ParticipantImport)
class ParticipantImportAdmin(admin.ModelAdmin):
    list_display = ["filename", "program", "status", "created_at"]
    exclude = ["content"]
    raw_id_fields = ["program"]


@admin.register(LaunchStep)
class LaunchStepAdmin(admin.ModelAdmin):
    list_display = ["program", "step", "done_by", "done_at"]
    list_filter = ["step"]
    raw_id_fields = ["program", "done_by"]


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["organization", "kind", "status", "updated_by", "updated_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["organization", "updated_by"]


@admin.register(SupportRequest)
class SupportRequestAdmin(admin.ModelAdmin):
    list_display = ["subject", "program", "sent_by", "to_email", "created_at"]
    search_fields = ["subject", "to_email"]
    raw_id_fields = ["program", "sent_by"]


class VerbFilter(admin.SimpleListFilter):
    """The verbs by their labels (the field has no choices: programs.activity)."""

    title = "verb"
    parameter_name = "verb"

    def lookups(self, request, model_admin):
        return verb_choices()

    def queryset(self, request, queryset):
        return queryset.filter(verb=self.value()) if self.value() else queryset


@admin.register(ActivityEvent)
class ActivityEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "program", "actor", "verb_label", "detail"]
    list_filter = [VerbFilter]
    raw_id_fields = ["program", "actor"]
    list_select_related = ["program", "actor"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "verb":  # a select of the registered verbs, as choices gave
            return forms.ChoiceField(choices=verb_choices(), label="Verb")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="verb", ordering="verb")
    def verb_label(self, event: ActivityEvent) -> str:
        return event.get_verb_display()

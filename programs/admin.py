from django.contrib import admin

from programs.models import Membership, Organization, Participant, ParticipantImport, Program


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

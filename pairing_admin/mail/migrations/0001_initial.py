# The email models moved here from invitations with their tables (db_table kept):
# this migration only tells Django's state about them; the database is unchanged.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MOVED = ["outboundemail", "suppression", "providerevent", "emailtemplate", "accesslink"]


def move_content_types(apps, schema_editor, source="invitations", target="mail"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=source, model__in=MOVED).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="mail", target="invitations")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('invitations', '0012_registration_confirm'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('programs', '0016_pending_registration'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ProviderEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_id', models.CharField(max_length=200, unique=True)),
                        ('event_type', models.CharField(max_length=32)),
                        ('recipient', models.EmailField(blank=True, max_length=254)),
                        ('provider_message_id', models.CharField(blank=True, max_length=200)),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'invitations_providerevent',
                    },
                ),
                migrations.CreateModel(
                    name='Suppression',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('email', models.EmailField(max_length=254, unique=True)),
                        ('reason', models.CharField(max_length=64)),
                        ('detail', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'invitations_suppression',
                    },
                ),
                migrations.CreateModel(
                    name='AccessLink',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('token_hash', models.CharField(max_length=64)),
                        ('purpose', models.CharField(choices=[('preferences', 'Mentor preferences'), ('approve', 'Approve a request'), ('decline', 'Decline a request'), ('session', 'Log a mentoring session')], max_length=16)),
                        ('object_id', models.BigIntegerField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField()),
                        ('used_at', models.DateTimeField(blank=True, null=True)),
                        ('participant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='access_links', to='programs.participant')),
                        ('program', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='programs.program')),
                    ],
                    options={
                        'db_table': 'invitations_accesslink',
                        'indexes': [models.Index(fields=['participant', 'purpose'], name='invitations_partici_b44492_idx')],
                        'constraints': [models.UniqueConstraint(fields=('token_hash',), name='accesslink_token_hash_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='EmailTemplate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('invitation', 'Submit Your Mentor Preferences'), ('mentor_request', 'Mentor request'), ('request_reminder', 'Request reminder'), ('assignment', 'Mentorship Assignments'), ('request_declined', 'Request declined'), ('request_expired', 'Request expired'), ('request_forwarded', 'Request passed to next choice'), ('request_cancelled', 'Request cancelled by the program team'), ('request_closed', 'Request closed: mentor full'), ('waitlist_offer', 'Waitlist: a mentor has room'), ('waitlist_returned', 'Waitlist: back in line after an offer'), ('mentor_requests', 'Mentor requests (several at once)'), ('assignments', 'Mentorship Assignments (several at once)'), ('pairing_ended', 'Pairing ended'), ('pairings_ended', 'Pairings ended (several at once)'), ('support_request', 'Support request'), ('registration_confirm', 'Registration: confirm your email')], max_length=32)),
                        ('subject', models.CharField(max_length=300)),
                        ('body_text', models.TextField()),
                        ('body_html', models.TextField(blank=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('program', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='email_templates', to='programs.program')),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'invitations_emailtemplate',
                        'constraints': [models.UniqueConstraint(fields=('program', 'kind'), name='email_template_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='OutboundEmail',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('invitation', 'Submit Your Mentor Preferences'), ('mentor_request', 'Mentor request'), ('request_reminder', 'Request reminder'), ('assignment', 'Mentorship Assignments'), ('request_declined', 'Request declined'), ('request_expired', 'Request expired'), ('request_forwarded', 'Request passed to next choice'), ('request_cancelled', 'Request cancelled by the program team'), ('request_closed', 'Request closed: mentor full'), ('waitlist_offer', 'Waitlist: a mentor has room'), ('waitlist_returned', 'Waitlist: back in line after an offer'), ('mentor_requests', 'Mentor requests (several at once)'), ('assignments', 'Mentorship Assignments (several at once)'), ('pairing_ended', 'Pairing ended'), ('pairings_ended', 'Pairings ended (several at once)'), ('support_request', 'Support request'), ('registration_confirm', 'Registration: confirm your email')], max_length=32)),
                        ('idempotency_key', models.CharField(max_length=200)),
                        ('batch_id', models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ('to_email', models.EmailField(max_length=254)),
                        ('to_name', models.CharField(blank=True, max_length=200)),
                        ('reply_to', models.EmailField(blank=True, max_length=254)),
                        ('subject', models.CharField(max_length=300)),
                        ('body_text', models.TextField()),
                        ('body_html', models.TextField(blank=True)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('suppressed', 'Suppressed'), ('bounced', 'Bounced'), ('stopped', 'Stopped before sending')], default='queued', max_length=16)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                        ('provider_message_id', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('touched_at', models.DateTimeField(auto_now_add=True)),
                        ('claim', models.CharField(blank=True, db_default='', default='', max_length=32)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('program', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='emails', to='programs.program')),
                    ],
                    options={
                        'db_table': 'invitations_outboundemail',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(condition=models.Q(('status__in', ['queued', 'sending'])), fields=['touched_at'], name='outbox_unfinished_idx'), models.Index(fields=['program', 'status'], name='outbox_program_status_idx'), models.Index(condition=models.Q(('provider_message_id', ''), _negated=True), fields=['provider_message_id'], name='outbox_provider_id_idx')],
                        'constraints': [models.UniqueConstraint(fields=('idempotency_key',), name='outbox_idempotency_key_unique')],
                    },
                ),
            ],
        ),
        # Their content types (and so permissions) follow them, so nothing is added.
        migrations.RunPython(move_content_types, move_content_types_back),
    ]

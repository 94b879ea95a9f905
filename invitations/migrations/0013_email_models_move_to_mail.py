# The email models moved to pairing_admin.mail with their tables: state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('invitations', '0012_registration_confirm'),
        ('mail', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='accesslink',
                    name='participant',
                ),
                migrations.RemoveField(
                    model_name='accesslink',
                    name='program',
                ),
                migrations.RemoveField(
                    model_name='emailtemplate',
                    name='program',
                ),
                migrations.RemoveField(
                    model_name='emailtemplate',
                    name='updated_by',
                ),
                migrations.RemoveField(
                    model_name='outboundemail',
                    name='program',
                ),
                migrations.DeleteModel(
                    name='ProviderEvent',
                ),
                migrations.DeleteModel(
                    name='Suppression',
                ),
                migrations.DeleteModel(
                    name='AccessLink',
                ),
                migrations.DeleteModel(
                    name='EmailTemplate',
                ),
                migrations.DeleteModel(
                    name='OutboundEmail',
                ),
            ],
        ),
    ]

"""URLs: the web interface (web/views.py) and the API under /api/ (its OpenAPI at /api/openapi.json)."""

from django.contrib.auth import views as auth
from django.urls import path

from postroom.api.views import api
from postroom.web import (
    health_pages,
    mailbox_pages,
    people_pages,
    quarantine_pages,
    rule_form,
    rule_pages,
    views,
)

urlpatterns = [
    path("api/", api.urls),
    path("login", auth.LoginView.as_view(template_name="postroom/login.html"), name="login"),
    path("logout", auth.LogoutView.as_view(), name="logout"),
    path("", views.record_list, name="records"),
    path("records/new", views.new_record),
    path("records/<int:number>", views.record_page, name="record"),
    path("records/<int:number>/reply", views.reply),
    path("records/<int:number>/note", views.note),
    path("records/<int:number>/change", views.change),
    path("records/<int:number>/messages/<int:message_id>/raw", views.raw),
    path("attachments/<int:attachment_id>", views.attachment),
    path("attachments/<int:attachment_id>/inline", views.inline_image),
    path("mailboxes", mailbox_pages.mailbox_list),
    path("mailboxes/new", mailbox_pages.mailbox_edit),
    path("mailboxes/<str:name>", mailbox_pages.mailbox_edit),
    path("mailboxes/<str:name>/enabled", mailbox_pages.mailbox_toggle),
    path("mailboxes/<str:name>/rules", rule_pages.rules_page),
    path("mailboxes/<str:name>/rules/list", rule_form.rule_list),
    path("mailboxes/<str:name>/rules/new", rule_form.rule_edit),
    path("mailboxes/<str:name>/rules/<int:index>", rule_form.rule_edit),
    path("mailboxes/<str:name>/health", health_pages.health_page),
    path("filters", rule_pages.global_filters_page),
    path("people", people_pages.people),
    path("people/users", people_pages.save_user_page),
    path("people/teams", people_pages.save_team_page),
    path("people/accounts", people_pages.save_account_page),
    path("people/contacts", people_pages.save_contact_page),
    path("quarantine", quarantine_pages.quarantine),
    path("quarantine/<int:delivery_id>/raw", quarantine_pages.quarantined_raw),
    path("quarantine/<int:delivery_id>", quarantine_pages.quarantine_action),
]

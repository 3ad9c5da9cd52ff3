"""Users and departments (admins only; the page is registered only for them)."""

import pandas as pd
import streamlit as st

from crm.access import auth, can_manage_users, permissions
from crm.access.users import (
    assign_departments,
    create_department,
    create_user,
    list_departments,
    list_users,
    rename_department,
    set_password,
    update_user,
)
from crm.common.errors import Refusal
from crm.identity.roles import Role
from crm.ui import text
from crm.ui.session import current_user, database

actor = current_user()
if not can_manage_users(actor):  # never registered for other roles; checked again here
    st.error("Page not found.")
    st.stop()
db = database()

st.title("Users & departments")

departments = list_departments(db)
department_names = {d["id"]: d["name"] for d in departments}
NO_DEPARTMENT = "— none —"


def department_choice(label: str, key: str, current: int | None = None) -> int | None:
    options = [None, *department_names]
    index = options.index(current) if current in options else 0
    return st.selectbox(text.plain(label), options, index=index, key=key,
                        format_func=lambda d: NO_DEPARTMENT if d is None else department_names[d])


def attempt(action, success: str) -> None:
    try:
        action()
    except Refusal as problem:
        text.error("{}", problem)
    else:
        st.session_state["admin_flash"] = success
        st.rerun()


def sessions_of(target) -> None:
    """The user's open sessions and sign-in lock, each with a way to end it."""
    st.markdown("**Sessions and sign-in**")
    sessions = auth.open_sessions(db, target.id)
    if sessions:
        st.dataframe(pd.DataFrame({
            "Signed in": [s["created_at"] for s in sessions],
            "Last active": [s["last_seen_at"] for s in sessions],
            "Expires": [s["expires_at"] for s in sessions],
            "Client": [s["client_key"][:8] for s in sessions]}),
            hide_index=True, width="stretch")
        if st.button(text.md("End all {n} sessions of {name}", n=len(sessions),
                             name=target.username), key="end_sessions"):
            attempt(lambda: auth.end_sessions(actor, db, target.id),
                    f"Every session of {target.username} ended: signed out everywhere.")
    else:
        text.caption("{} has no open session.", target.username)
    failures = auth.recent_failures(db, target.username)
    if failures:
        text.caption("{n} failed sign-ins for {name} in the last 30 minutes.", n=failures,
                     name=target.username)
        if st.button("Lift sign-in locks", key="unlock_user",
                     help="Failed sign-ins from any client no longer count."):
            attempt(lambda: auth.unlock(actor, db, target.username),
                    f"Sign-in locks of {target.username} lifted.")


if flash := st.session_state.pop("admin_flash", None):
    text.success("{}", flash)

users_tab, departments_tab, permissions_tab = st.tabs(["Users", "Departments", "Permissions"])

with users_tab:
    users = list_users(actor, db)
    st.dataframe(
        pd.DataFrame(
            [{"Username": u.username, "Full name": u.full_name, "Email": u.email,
              "Role": u.role.label, "Department": u.department_name or "",
              "Active": u.active} for u in users]
        ),
        hide_index=True,
        width="stretch",
    )

    with st.expander("Add a user"), st.form("add_user", clear_on_submit=True):
        username = st.text_input("Username")
        full_name = st.text_input("Full name")
        email = st.text_input("Email")
        role = st.selectbox("Role", list(Role), format_func=lambda r: r.label)
        department = department_choice("Department", "add_user_department")
        password = st.text_input("Initial password", type="password",
                                 help="At least 8 characters.")
        if st.form_submit_button("Add user", type="primary"):
            attempt(lambda: create_user(actor, db, username=username, full_name=full_name,
                                        password=password, role=role,
                                        department_id=department, email=email),
                    f"User {username.strip().lower()} added.")

    with st.expander("Change a user", expanded=False):
        by_name = {u.username: u for u in users}
        chosen = st.selectbox("User", list(by_name), key="edit_user_pick")
        if chosen:
            target = by_name[chosen]
            with st.form("edit_user"):
                full_name = st.text_input("Full name", target.full_name)
                email = st.text_input("Email", target.email)
                role = st.selectbox("Role", list(Role), index=list(Role).index(target.role),
                                    format_func=lambda r: r.label)
                department = department_choice("Department", "edit_user_department",
                                               target.department_id)
                active = st.checkbox("Active (may sign in)", target.active)
                if st.form_submit_button("Save changes", type="primary"):
                    attempt(lambda: update_user(actor, db, target.id, role=role,
                                                department_id=department, full_name=full_name,
                                                email=email, active=active),
                            f"User {target.username} saved.")
            if target.role is Role.ANALYST:
                with st.form("analyst_departments"):
                    seen = st.multiselect(
                        "Departments this analyst sees", list(department_names),
                        default=[d for d in sorted(target.assigned) if d in department_names],
                        format_func=department_names.get, placeholder="Every department",
                        help="Besides their own department, if they have one. None chosen "
                             "and no department of their own: every department.")
                    if st.form_submit_button("Save departments"):
                        attempt(lambda: assign_departments(actor, db, target.id, seen),
                                f"Departments of {target.username} saved.")
            with st.form("reset_password", clear_on_submit=True):
                new_password = st.text_input(text.md("New password for {}", target.username),
                                             type="password")
                if st.form_submit_button("Reset password"):
                    attempt(lambda: set_password(actor, db, target.id, new_password),
                            f"Password of {target.username} reset.")
            sessions_of(target)

with departments_tab:
    st.dataframe(
        pd.DataFrame([{"Department": d["name"], "Users": d["users"]} for d in departments]),
        hide_index=True,
        width="stretch",
    )
    with st.form("add_department", clear_on_submit=True):
        name = st.text_input("New department")
        if st.form_submit_button("Create department"):
            attempt(lambda: create_department(actor, db, name),
                    f"Department {name.strip()} created.")
    if department_names:
        with st.form("rename_department"):
            which = st.selectbox("Department", list(department_names),
                                 format_func=lambda d: department_names[d])
            new_name = st.text_input("New name")
            if st.form_submit_button("Rename"):
                attempt(lambda: rename_department(actor, db, which, new_name),
                        f"Department renamed to {new_name.strip()}.")


with permissions_tab:
    text.caption("What each role may do, for the records it sees (which records: the role and "
                 "department). Changes apply at each user's next click and are audited. "
                 "Contacts exports hold only the contacts assigned to the user unless the role "
                 "may export every contact in scope.")
    table = permissions.table(db)
    roles = list(Role)
    shown = pd.DataFrame(
        [{"Permission": p.phrase[0].upper() + p.phrase[1:],
          **{r.label: p.key in table[r] for r in roles}} for p in permissions.PERMISSIONS])
    version = st.session_state.setdefault("permissions_version", 0)
    with st.form("permissions"):
        edited = st.data_editor(
            shown, hide_index=True, width="stretch", key=f"permissions_grid_{version}",
            disabled=["Permission"], height=(len(shown) + 1) * 35 + 3,
            column_config={"Permission": st.column_config.TextColumn(width="large"),
                           **{r.label: st.column_config.CheckboxColumn(r.label, width="small")
                              for r in roles}})
        save = st.form_submit_button("Save permissions", type="primary")
    if save:
        wanted = {(r, *p.key): bool(edited.at[i, r.label])
                  for i, p in enumerate(permissions.PERMISSIONS) for r in roles
                  if bool(edited.at[i, r.label]) != (p.key in table[r])}

        def save_table() -> None:
            count = permissions.set_many(actor, db, wanted)
            st.session_state["admin_flash"] = f"{count} permission(s) changed."

        try:
            save_table()
        except Refusal as problem:
            text.error("{}", problem)
        else:
            st.session_state["permissions_version"] = version + 1
            st.rerun()
    changed = permissions.changed(db)
    if changed:
        text.caption("{} change(s) from the defaults: {}.", len(changed), "; ".join(
            f"{Role(c['role']).label} {'may' if c['allowed'] else 'may not'} "
            f"{permissions.permission(c['action'], c['entity']).phrase}"
            for c in changed))
        if st.button("Reset to defaults", key="permissions_reset",
                     help="Every role gets the default permissions back."):
            st.session_state["permissions_version"] = version + 1
            attempt(lambda: permissions.reset_defaults(actor, db),
                    "Every role has the default permissions again.")
    else:
        st.caption("Every role has the default permissions.")

"""A message as one person receives it: placeholders filled in, Markdown as HTML with user
text escaped, a plain-text part, and headers that cannot be injected."""

from __future__ import annotations

from crm.mailing import compose
from crm.mailing.compose import Person

ANNA = Person("Anna", "Adler", "Adler & Söhne", "anna@adler.example")
LINK = "https://crm.example/?view=unsubscribe&token=c1.abc"


def test_placeholders_are_filled_in_subject_text_and_html():
    rendered = compose.render("News for {first_name}", "Dear {first_name} {last_name} of "
                              "*{company}*", ANNA, LINK)
    assert rendered.subject == "News for Anna"
    assert rendered.text.startswith("Dear Anna Adler of *Adler & Söhne*")
    assert "<em>Adler &amp; Söhne</em>" in rendered.html_body


def test_raw_html_and_script_links_in_the_body_are_not_interpreted():
    rendered = compose.render("Hi", "<script>alert(1)</script> <b>bold</b> "
                              "[click](javascript:alert(1))", ANNA, LINK)
    assert "<script>" not in rendered.html and "<b>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html_body
    assert 'href="javascript' not in rendered.html


def test_a_value_with_html_or_markdown_stays_text():
    mallory = Person("<img src=x onerror=alert(1)>", "**Bold**", "[x](javascript:1)", "m@x.io")
    rendered = compose.render("Hi", "Dear {first_name} {last_name} from {company}", mallory,
                              LINK)
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered.html_body
    assert "**Bold**" in rendered.html_body and "<strong>" not in rendered.html_body
    assert "<a " not in rendered.html_body


def test_a_placeholder_in_a_link_is_url_encoded():
    rendered = compose.render("Hi", "[Your page](https://shop.example/?c={company})", ANNA,
                              LINK)
    assert 'href="https://shop.example/?c=Adler%20%26%20S%C3%B6hne"' in rendered.html_body


def test_only_the_known_placeholders_are_replaced_and_format_tricks_do_nothing():
    text = compose.fill("{first_name.__class__} {0} {last_name}", ANNA)
    assert text == "{first_name.__class__} {0} Adler"
    assert compose.unknown_placeholders("{firstname} {first_name}", "{email}") == [
        "email", "firstname"]


def test_the_footer_carries_the_unsubscribe_link():
    rendered = compose.render("Hi", "Hello", ANNA, LINK)
    assert rendered.text.endswith(f"Unsubscribe: {LINK}\n")
    assert 'href="https://crm.example/?view=unsubscribe&amp;token=c1.abc">Unsubscribe' in (
        rendered.html)


def test_a_line_break_cannot_add_a_header():
    sly = Person("Eve\r\nBcc: all@example.com", "X", "", "eve@example.com")
    rendered = compose.render("Hi {first_name}\nBcc: more@example.com", "Hello", sly, LINK)
    message = compose.build_message(rendered, sender="News <news@crm.example>", person=sly,
                                    message_id="<m1@crm.example>",
                                    list_unsubscribe=f"<{LINK}>")
    raw = message.as_bytes()
    assert b"\r\nBcc:" not in raw
    assert message["Subject"] == "Hi Eve Bcc: all@example.com Bcc: more@example.com"


def test_problems_are_said_in_words():
    assert compose.check_content("", "") == ["The subject is empty.", "The message is empty."]
    assert compose.check_content("Hi {name}", "x") == [
        "Unknown placeholder {name}: use {first_name}, {last_name}, {company}."]

//! An access request's export as a person reads it: everything hjul holds about them,
//! in Danish or English, as one HTML page (the JSON holds the same).

use hjul_store::PersonData;
use hjul_wheel::Language;
use minijinja::{Environment, context};

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ w("privacy.title") }}: {{ d.email }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}</style></head>
<body>
<h1>{{ w("privacy.title") }}</h1>
<p>{{ w("privacy.intro") }}</p>
<h2>{{ w("privacy.person") }}</h2>
<p>{{ d.name or "–" }} &lt;{{ d.email }}&gt;{% if d.language %}, {{ d.language }}{% endif %}</p>
<h2>{{ w("privacy.units") }} ({{ d.units_led|length }})</h2>
{% if d.units_led %}<ul>{% for u in d.units_led %}<li>{{ u[1] }} ({{ u[0] }}){% if not u[2] %} – {{ w("privacy.closed") }}{% endif %}</li>{% endfor %}</ul>{% else %}<p>–</p>{% endif %}
<h2>{{ w("privacy.deputyships") }} ({{ d.deputyships|length }})</h2>
{% if d.deputyships %}<ul>{% for x in d.deputyships %}<li>{{ x.unit_id }}: {{ x.starts_on or "…" }} – {{ x.ends_on or "…" }}</li>{% endfor %}</ul>{% else %}<p>–</p>{% endif %}
<h2>{{ w("privacy.actions") }} ({{ d.their_actions|length }})</h2>
{% if d.their_actions %}<table><tr><th>{{ w("privacy.when") }}</th><th>{{ w("privacy.what") }}</th><th>{{ w("privacy.on") }}</th></tr>
{% for a in d.their_actions %}<tr><td>{{ a.at[:16]|replace("T", " ") }} UTC</td><td>{{ a.action }}</td><td>{{ a.entity }} {{ a.entity_id }}</td></tr>{% endfor %}</table>{% else %}<p>–</p>{% endif %}
<h2>{{ w("privacy.naming") }} ({{ d.rows_naming_them|length }})</h2>
{% if d.rows_naming_them %}<table><tr><th>{{ w("privacy.when") }}</th><th>{{ w("privacy.what") }}</th><th>{{ w("privacy.on") }}</th></tr>
{% for a in d.rows_naming_them %}<tr><td>{{ a.at[:16]|replace("T", " ") }} UTC</td><td>{{ a.action }}</td><td>{{ a.entity }} {{ a.entity_id }}</td></tr>{% endfor %}</table>{% else %}<p>–</p>{% endif %}
<h2>{{ w("privacy.mails") }} ({{ d.mails|length }})</h2>
{% if d.mails %}<table><tr><th>{{ w("privacy.when") }}</th><th>{{ w("privacy.what") }}</th><th>{{ w("privacy.on") }}</th></tr>
{% for m in d.mails %}<tr><td>{% if m.at %}{{ m.at[:16]|replace("T", " ") }} UTC{% else %}–{% endif %}</td><td>{{ m.kind }} ({{ m.state }})</td><td>{{ m.unit_id or "" }} {{ m.deadline or "" }} {{ m.due or "" }}</td></tr>{% endfor %}</table>{% else %}<p>–</p>{% endif %}
<h2>{{ w("privacy.access") }}</h2>
<p>{{ d.tokens|length }} {{ w("privacy.tokens") }}, {{ d.sessions|length }} {{ w("privacy.sessions") }}.</p>
<h2>{{ w("privacy.reads") }} ({{ d.reads_of_their_data|length }})</h2>
<p>{{ w("privacy.reads_help") }}</p>
{% if d.reads_of_their_data %}<table><tr><th>{{ w("privacy.when") }}</th><th>{{ w("privacy.purpose") }}</th><th>{{ w("privacy.on") }}</th></tr>
{% for r in d.reads_of_their_data %}<tr><td>{{ r.at[:16]|replace("T", " ") }} UTC</td><td>{{ w("reads.view." ~ r.view) }}</td><td>{{ r.unit_id or "" }}</td></tr>{% endfor %}</table>{% else %}<p>–</p>{% endif %}
</body></html>
"#;

/// The export as one HTML page in `language`.
pub fn person_html(d: &PersonData, language: Language) -> String {
    let words = crate::export::words(language);
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    let w = move |key: String| -> String { words.word(&key).to_owned() };
    env.add_function("w", w);
    env.render_str(
        PAGE,
        context! { d => minijinja::Value::from(minijinja::value::Serde(d)), lang => language.key() },
    )
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "the access request's page could not be written");
        String::new()
    })
}

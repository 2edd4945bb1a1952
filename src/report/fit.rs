//! `fit --json`'s document: the question, every evaluation, the value found and its
//! uncertainty. (The text is `fit`'s own, in the binary.)

use crate::fit::{FitResult, FitSpec};

/// The `--json` document: the question, then every field of the result; pretty, with a
/// trailing newline.
pub fn json(spec: &FitSpec, r: &FitResult) -> Result<String, serde_json::Error> {
    let mut v = serde_json::json!({
        "scenario": spec.origin,
        "param": spec.key,
        "variant": spec.variant,
        "metric": spec.metric,
        "target": spec.target,
        "range": spec.range,
        "seeds": spec.seeds,
    });
    if let (Some(obj), serde_json::Value::Object(fields)) =
        (v.as_object_mut(), serde_json::to_value(r)?)
    {
        obj.extend(fields);
    }
    crate::names::stamp::stamp(&mut v);
    let mut text = serde_json::to_string_pretty(&v)?;
    text.push('\n');
    Ok(text)
}

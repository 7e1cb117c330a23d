//! Reading a Hugging Face `config.json`: typed getters with defaults and
//! one-line errors naming the field.

use serde_json::Value;

use crate::Error;

/// Largest `config.json` read (a config is a few KB; a file of megabytes is
/// not one).
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// Largest size any hyper-parameter may have: far above any real model
/// (hidden sizes are ~10^4, vocabularies ~10^6), low enough that products
/// of a few of them stay far from overflow.
const MAX_SIZE: i64 = 1 << 31;

/// Most layers a config may declare.
pub const MAX_LAYERS: i64 = 4096;

pub struct Config<'a> {
    pub json: &'a Value,
    pub model_type: String,
}

impl<'a> Config<'a> {
    pub fn new(json: &'a Value) -> Result<Config<'a>, Error> {
        let model_type = json
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Error::Config("no \"model_type\" field: not a Hugging Face model config".into())
            })?
            .to_string();
        Ok(Config { json, model_type })
    }

    /// The sub-config `key` (a vision tower's `vision_config`).
    pub fn sub(&self, key: &str) -> Option<&'a Value> {
        self.json.get(key).filter(|v| v.is_object())
    }

    fn field(&self, key: &str) -> Option<&'a Value> {
        self.json.get(key).filter(|v| !v.is_null())
    }

    fn bad(&self, key: &str, want: &str) -> Error {
        Error::Config(format!("\"{key}\" must be {want}"))
    }

    /// A positive size; the first of `keys` present (families name the
    /// same size differently: `hidden_size`, `n_embd`, `d_model`).
    pub fn size_any(&self, keys: &[&str]) -> Result<Option<i64>, Error> {
        for key in keys {
            if let Some(v) = self.field(key) {
                let n = v
                    .as_i64()
                    .filter(|&n| (1..=MAX_SIZE).contains(&n))
                    .ok_or_else(|| self.bad(key, &format!("an integer from 1 to {MAX_SIZE}")))?;
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    pub fn size(&self, keys: &[&str]) -> Result<i64, Error> {
        self.size_any(keys)?
            .ok_or_else(|| Error::Config(format!("no \"{}\" field", keys[0])))
    }

    pub fn size_or(&self, keys: &[&str], default: i64) -> Result<i64, Error> {
        Ok(self.size_any(keys)?.unwrap_or(default))
    }

    /// A size that may be zero or absent (`q_lora_rank: null`).
    pub fn count_or(&self, key: &str, default: i64) -> Result<i64, Error> {
        match self.field(key) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .filter(|&n| (0..=MAX_SIZE).contains(&n))
                .ok_or_else(|| self.bad(key, "a non-negative integer")),
        }
    }

    pub fn flag(&self, key: &str, default: bool) -> Result<bool, Error> {
        match self.field(key) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.bad(key, "true or false")),
        }
    }

    pub fn float(&self, key: &str) -> Result<Option<f64>, Error> {
        match self.field(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.bad(key, "a number")),
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.field(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.bad(key, "a string")),
        }
    }

    /// `layer_types` (`"sliding_attention"` / `"full_attention"` per layer),
    /// which recent configs of every family with local layers carry.
    pub fn layer_types(&self, layers: usize) -> Result<Option<Vec<bool>>, Error> {
        let Some(v) = self.field("layer_types") else {
            return Ok(None);
        };
        let list = v
            .as_array()
            .ok_or_else(|| self.bad("layer_types", "a list"))?;
        if list.len() != layers {
            return Err(Error::Config(format!(
                "\"layer_types\" has {} entries for {layers} layers",
                list.len()
            )));
        }
        list.iter()
            .map(|t| match t.as_str() {
                Some("sliding_attention") => Ok(true),
                Some("full_attention") => Ok(false),
                _ => Err(self.bad(
                    "layer_types",
                    "\"sliding_attention\" or \"full_attention\" entries",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A list of layer indices (`mlp_only_layers`).
    pub fn indices(&self, key: &str) -> Result<Vec<i64>, Error> {
        match self.field(key) {
            None => Ok(Vec::new()),
            Some(v) => v
                .as_array()
                .and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
                .ok_or_else(|| self.bad(key, "a list of integers")),
        }
    }
}

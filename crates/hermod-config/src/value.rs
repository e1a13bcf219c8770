//! How each setting type reads from and writes to TOML.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hermod_model::ReplyProfile;
use toml::de::DeValue;

/// A type a setting can have.
pub trait SettingValue: Sized {
    /// The type's name in the reference and in error messages.
    const KIND: &'static str;
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String>;
    fn to_toml(&self) -> String;
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn integer(value: &DeValue<'_>) -> Result<i128, String> {
    match value {
        DeValue::Integer(i) => {
            i128::from_str_radix(i.as_str(), i.radix()).map_err(|e| e.to_string())
        }
        other => Err(format!("expected an integer, found {}", other.type_str())),
    }
}

fn string<'a>(value: &'a DeValue<'_>) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("expected a string, found {}", value.type_str()))
}

impl SettingValue for String {
    const KIND: &'static str = "string";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        string(value).map(str::to_string)
    }
    fn to_toml(&self) -> String {
        quote(self)
    }
}

impl SettingValue for PathBuf {
    const KIND: &'static str = "path";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        let s = string(value)?;
        if s.is_empty() {
            return Err("a path may not be empty".into());
        }
        Ok(PathBuf::from(s))
    }
    fn to_toml(&self) -> String {
        quote(&self.display().to_string())
    }
}

impl SettingValue for Option<PathBuf> {
    const KIND: &'static str = "path (optional)";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        let s = string(value)?;
        Ok((!s.is_empty()).then(|| PathBuf::from(s)))
    }
    fn to_toml(&self) -> String {
        quote(
            &self
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        )
    }
}

impl SettingValue for bool {
    const KIND: &'static str = "boolean";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        value
            .as_bool()
            .ok_or_else(|| format!("expected true or false, found {}", value.type_str()))
    }
    fn to_toml(&self) -> String {
        self.to_string()
    }
}

impl SettingValue for u32 {
    const KIND: &'static str = "integer";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        let n = integer(value)?;
        u32::try_from(n).map_err(|_| format!("{n} is out of range (0 to {})", u32::MAX))
    }
    fn to_toml(&self) -> String {
        self.to_string()
    }
}

impl SettingValue for u64 {
    const KIND: &'static str = "integer (bytes)";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        let n = integer(value)?;
        u64::try_from(n).map_err(|_| format!("{n} is out of range (must not be negative)"))
    }
    fn to_toml(&self) -> String {
        self.to_string()
    }
}

impl SettingValue for Duration {
    const KIND: &'static str = "seconds";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        let n = integer(value)?;
        if !(1..=86_400 * 30).contains(&n) {
            return Err(format!("{n} seconds is out of range (1 to 2592000)"));
        }
        Ok(Duration::from_secs(n as u64))
    }
    fn to_toml(&self) -> String {
        self.as_secs().to_string()
    }
}

impl SettingValue for Vec<String> {
    const KIND: &'static str = "list of strings";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        let array = value.as_array().ok_or_else(|| {
            format!(
                "expected a list like [\"a\", \"b\"], found {}",
                value.type_str()
            )
        })?;
        array
            .iter()
            .map(|item| string(item.get_ref()).map(str::to_string))
            .collect()
    }
    fn to_toml(&self) -> String {
        let items: Vec<String> = self.iter().map(|s| quote(s)).collect();
        format!("[{}]", items.join(", "))
    }
}

impl SettingValue for Vec<SocketAddr> {
    const KIND: &'static str = "list of addresses";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        let array = value.as_array().ok_or_else(|| {
            format!(
                "expected a list like [\"0.0.0.0:25\"], found {}",
                value.type_str()
            )
        })?;
        array
            .iter()
            .map(|item| {
                let s = string(item.get_ref())?;
                s.parse::<SocketAddr>().map_err(|_| {
                    format!(
                        "{s:?} is not an address with a port, like \"0.0.0.0:25\" or \"[::]:25\""
                    )
                })
            })
            .collect()
    }
    fn to_toml(&self) -> String {
        let items: Vec<String> = self.iter().map(|a| quote(&a.to_string())).collect();
        format!("[{}]", items.join(", "))
    }
}

impl SettingValue for ReplyProfile {
    const KIND: &'static str = "\"faq\" or \"rfc\"";
    fn from_toml(value: &DeValue<'_>) -> Result<Self, String> {
        let s = string(value)?;
        ReplyProfile::parse(s)
            .ok_or_else(|| format!("{s:?} is not a reply profile; use \"faq\" or \"rfc\""))
    }
    fn to_toml(&self) -> String {
        quote(self.as_str())
    }
}

//! Where the wheel definition and the indicator catalogue come from: `--config DIR`,
//! else `./config` when it has the file, else the built-in defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hjul_store::CurrentWheel;
use hjul_wheel::definition::BUILTIN_WHEEL_TOML;
use hjul_wheel::indicators::BUILTIN_INDICATORS_TOML;
use hjul_wheel::{IndicatorCatalogue, WheelDefinition};

pub const WHEEL_FILE: &str = "wheel.toml";
pub const INDICATORS_FILE: &str = "indicators.toml";

pub struct Config {
    /// The directory given with --config, if any.
    pub dir: Option<PathBuf>,
    wheel: Option<PathBuf>,
    indicators: Option<PathBuf>,
}

impl Config {
    /// An explicit directory must exist and hold wheel.toml (a typo in `--config` must not
    /// silently fall back to the built-in wheel); the implicit `./config` is used file by
    /// file when present.
    pub fn locate(dir: Option<&Path>) -> anyhow::Result<Self> {
        match dir {
            Some(dir) => {
                if !dir.is_dir() {
                    bail!(
                        "the config directory {} does not exist; give a directory with {WHEEL_FILE}, or leave out --config to use the built-in wheel",
                        dir.display()
                    );
                }
                let wheel = dir.join(WHEEL_FILE);
                if !wheel.is_file() {
                    bail!(
                        "{} has no {WHEEL_FILE}; copy config/{WHEEL_FILE} from hjul's sources there and edit it",
                        dir.display()
                    );
                }
                let indicators = dir.join(INDICATORS_FILE);
                Ok(Self {
                    dir: Some(dir.to_path_buf()),
                    wheel: Some(wheel),
                    indicators: indicators.is_file().then_some(indicators),
                })
            }
            None => {
                let here = Path::new("config");
                let file = |name: &str| {
                    let p = here.join(name);
                    p.is_file().then_some(p)
                };
                Ok(Self {
                    dir: None,
                    wheel: file(WHEEL_FILE),
                    indicators: file(INDICATORS_FILE),
                })
            }
        }
    }

    pub fn wheel(&self) -> anyhow::Result<WheelDefinition> {
        let (text, name) = self.wheel_text()?;
        Ok(WheelDefinition::from_toml(&text, &name)?)
    }

    pub fn indicators(&self) -> anyhow::Result<IndicatorCatalogue> {
        let (text, name) = self.indicators_text()?;
        Ok(IndicatorCatalogue::from_toml(&text, &name)?)
    }

    /// Both files with their text, as a new cycle records them.
    pub fn current_wheel(&self) -> anyhow::Result<CurrentWheel> {
        let (definition_toml, wheel_name) = self.wheel_text()?;
        let (catalogue_toml, catalogue_name) = self.indicators_text()?;
        Ok(CurrentWheel {
            definition: WheelDefinition::from_toml(&definition_toml, &wheel_name)?,
            definition_toml,
            catalogue: IndicatorCatalogue::from_toml(&catalogue_toml, &catalogue_name)?,
            catalogue_toml,
        })
    }

    fn wheel_text(&self) -> anyhow::Result<(String, String)> {
        text_of(
            self.wheel.as_deref(),
            BUILTIN_WHEEL_TOML,
            "built-in wheel.toml",
        )
    }

    fn indicators_text(&self) -> anyhow::Result<(String, String)> {
        text_of(
            self.indicators.as_deref(),
            BUILTIN_INDICATORS_TOML,
            "built-in indicators.toml",
        )
    }

    pub fn wheel_source(&self) -> String {
        source(self.wheel.as_deref())
    }

    pub fn indicators_source(&self) -> String {
        source(self.indicators.as_deref())
    }
}

fn source(path: Option<&Path>) -> String {
    path.map_or_else(|| "built in".to_owned(), |p| p.display().to_string())
}

/// A config file's text and the name errors call it by.
fn text_of(
    path: Option<&Path>,
    builtin: &str,
    builtin_name: &str,
) -> anyhow::Result<(String, String)> {
    match path {
        None => Ok((builtin.to_owned(), builtin_name.to_owned())),
        Some(p) => Ok((
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
            p.display().to_string(),
        )),
    }
}

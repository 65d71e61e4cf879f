//! A minijinja environment whose templates are a municipality's copies where it has them
//! and the built-in ones otherwise; shared by the mail and the report.

use std::path::{Path, PathBuf};

use minijinja::Environment;

/// The built-in templates: each name (`da/opened.txt`) with its text.
pub type Builtin = &'static [(&'static str, &'static str)];

/// An environment that loads `name` from `dir/name` when that file exists and from
/// `builtin` otherwise. A file that exists but cannot be read is an error naming it,
/// not a silent fall-back to the built-in text.
pub fn environment(dir: Option<&Path>, builtin: Builtin) -> Environment<'static> {
    let dir: Option<PathBuf> = dir.map(Path::to_path_buf);
    let mut env = Environment::new();
    env.set_loader(move |name| {
        if let Some(dir) = &dir {
            let path = dir.join(name);
            if path.is_file() {
                return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("cannot read {}: {e}", path.display()),
                    )
                });
            }
        }
        Ok(builtin
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| (*text).to_owned()))
    });
    env
}

/// Loads and compiles every template `builtin` names (the directory's copy where there is
/// one), so a mistake is found at start, not when the first mail or report is made.
/// Call it after the environment's escaping, formatter and filters are set.
pub fn compile_all(
    env: &Environment<'static>,
    builtin: Builtin,
) -> Result<(), (&'static str, minijinja::Error)> {
    for (name, _) in builtin {
        env.get_template(name).map_err(|e| (*name, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTIN: Builtin = &[("a.txt", "built-in {{ x }}"), ("b.txt", "b")];

    #[test]
    fn a_file_in_the_directory_wins_and_the_rest_is_built_in() {
        let dir = std::env::temp_dir().join(format!("hjul-templates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), "changed {{ x }}").unwrap();
        let env = environment(Some(&dir), BUILTIN);
        compile_all(&env, BUILTIN).unwrap();
        let ctx = minijinja::context! { x => 1 };
        assert_eq!(
            env.get_template("a.txt").unwrap().render(&ctx).unwrap(),
            "changed 1"
        );
        assert_eq!(
            env.get_template("b.txt").unwrap().render(&ctx).unwrap(),
            "b"
        );
        let built_in = environment(None, BUILTIN);
        assert_eq!(
            built_in
                .get_template("a.txt")
                .unwrap()
                .render(&ctx)
                .unwrap(),
            "built-in 1"
        );

        // A changed template that does not compile is found by compile_all, by name.
        std::fs::write(dir.join("b.txt"), "{% if %}").unwrap();
        let env = environment(Some(&dir), BUILTIN);
        let (name, _) = compile_all(&env, BUILTIN).unwrap_err();
        assert_eq!(name, "b.txt");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Man pages and shell completions, generated from the command line's own definition.
//!
//! The package runs these at build time (`cargo xtask package`, through `vrrpd generate-man`
//! and `vrrpd generate-completions`, which main.rs reads before clap so that they appear in
//! neither), so the pages and completions ship with the binary they describe and no copy is
//! committed to go stale.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use clap_complete::Shell;

/// Daemons and administration commands live in section 8.
const SECTION: &str = "8";

/// Writes `vrrpd.8` and one page per visible subcommand (`vrrpd-status.8`, ...) into `dir`,
/// dated `date`; returns the files written.
pub fn write_man_pages(command: clap::Command, dir: &Path, date: &str) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut command = command.disable_help_subcommand(true);
    // Building gives subcommands their display names (`vrrpd-status`), the pages' names.
    command.build();
    // Every page's footer names the program and its version (subcommands carry none).
    let source = format!("{} {}", command.get_name(), command.get_version().unwrap_or_default());
    let mut written = Vec::new();
    write_page(command, dir, &Footer { date, source: &source }, &mut written)?;
    Ok(written)
}

struct Footer<'a> {
    date: &'a str,
    source: &'a str,
}

fn write_page(
    command: clap::Command,
    dir: &Path,
    footer: &Footer<'_>,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_page(sub.clone(), dir, footer, written)?;
    }
    let page = clap_mangen::Man::new(command)
        .section(SECTION)
        .date(footer.date)
        .source(footer.source)
        .manual("System Administration");
    let path = page.generate_to(dir).with_context(|| format!("writing into {}", dir.display()))?;
    written.push(path);
    Ok(())
}

/// Writes the bash, zsh and fish completions into `dir` (`vrrpd.bash`, `_vrrpd`,
/// `vrrpd.fish`); returns the files written.
pub fn write_completions(mut command: clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = command.get_name().to_owned();
    [Shell::Bash, Shell::Zsh, Shell::Fish]
        .into_iter()
        .map(|shell| {
            clap_complete::generate_to(shell, &mut command, &name, dir)
                .with_context(|| format!("writing the {shell} completion into {}", dir.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> clap::Command {
        clap::Command::new("vrrpd")
            .version("1.2.3")
            .about("a daemon")
            .arg(clap::Arg::new("config").short('f').long("config"))
            .subcommand(clap::Command::new("status").about("ask it"))
            .subcommand(clap::Command::new("internal").hide(true))
    }

    #[test]
    fn one_page_per_visible_subcommand_in_section_8() {
        let dir = std::env::temp_dir().join(format!("vrrpd-man-{}", std::process::id()));
        let written = write_man_pages(command(), &dir, "2026-12-02").unwrap();
        let mut names: Vec<String> = written
            .iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["vrrpd-status.8", "vrrpd.8"]);
        let page = fs::read_to_string(dir.join("vrrpd.8")).unwrap();
        let title = r#".TH vrrpd 8 2026-12-02 "vrrpd 1.2.3" "System Administration""#;
        assert!(page.contains(title), "{page}");
        assert!(page.contains("\\-\\-config"), "{page}");
        assert!(!page.contains("internal"), "hidden subcommands stay out: {page}");
        let sub = fs::read_to_string(dir.join("vrrpd-status.8")).unwrap();
        assert!(sub.contains(r#""vrrpd 1.2.3""#), "{sub}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn completions_for_bash_zsh_and_fish() {
        let dir = std::env::temp_dir().join(format!("vrrpd-completions-{}", std::process::id()));
        let written = write_completions(command(), &dir).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["vrrpd.bash", "_vrrpd", "vrrpd.fish"]);
        let bash = fs::read_to_string(dir.join("vrrpd.bash")).unwrap();
        assert!(bash.contains("--config") && bash.contains("status"), "{bash}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

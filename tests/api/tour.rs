//! The README's five-minute tour, replayed as a new user would run it: every
//! `$ ` command of its console blocks (and every line of its `sh` blocks but
//! the one that starts the server) runs, in order, in one bash against a real
//! `depot serve` on a fresh SQLite file, and what each prints must be what
//! the README shows. Ids, tokens and hashes differ from run to run, so they are
//! unified, not compared: the first time the README shows an id, the run's id
//! at that place stands for it, and every later use of the README's id (in a
//! command or an output) must be that same id of the run. Times, HTTP dates
//! and content lengths are wildcards; response headers are compared as a set.
//!
//! `DEPOT_TOUR_WRITE=1 cargo test --test api tour` rewrites the tour's outputs
//! (and ids) from the run instead, for a change that alters what it shows.
//!
//! The tour needs `curl` and `jq`; without them this test says it skipped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use regex::Regex;

const DEPOT: &str = env!("CARGO_BIN_EXE_depot");
const README_PORT: &str = "127.0.0.1:18181";
const DONE: &str = "\u{1e}TOUR-DONE";

/// One thing the tour does, in README order.
#[derive(Debug)]
enum Step {
    /// A `$ ` command of a console block, with the lines the README shows
    /// under it (`output` indexes the README's lines, for rewriting).
    Console {
        command: String,
        expected: Vec<String>,
        output: std::ops::Range<usize>,
    },
    /// A line of an `sh` block: run, its output not shown.
    Shell(String),
    /// The block that starts the server: the replay starts its own.
    Serve,
    /// What the server prints when it starts (holds the README's admin token).
    ServerSays(String),
}

/// The tour's lines: from its heading to the next second-level heading.
fn tour_range(readme: &[&str]) -> std::ops::Range<usize> {
    let start = readme
        .iter()
        .position(|l| l.starts_with("## A five-minute tour"))
        .expect("the README has a tour");
    let end = readme[start + 1..]
        .iter()
        .position(|l| l.starts_with("## "))
        .map_or(readme.len(), |i| start + 1 + i);
    start..end
}

fn parse_steps(readme: &[&str], range: std::ops::Range<usize>) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut i = range.start;
    while i < range.end {
        let Some(lang) = readme[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let lang = lang.trim().to_string();
        let body_start = i + 1;
        let mut j = body_start;
        while j < range.end && !readme[j].starts_with("```") {
            j += 1;
        }
        let body = &readme[body_start..j];
        match lang.as_str() {
            "sh" if body.iter().any(|l| l.contains(" serve")) => steps.push(Step::Serve),
            "sh" => steps.extend(
                body.iter()
                    .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                    .map(|l| Step::Shell(l.to_string())),
            ),
            "text" if matches!(steps.last(), Some(Step::Serve)) => {
                steps.push(Step::ServerSays(body.join("\n")))
            }
            "console" => {
                let mut k = 0;
                while k < body.len() {
                    let Some(command) = body[k].strip_prefix("$ ") else {
                        k += 1;
                        continue;
                    };
                    let first = k + 1;
                    let mut last = first;
                    while last < body.len() && !body[last].starts_with("$ ") {
                        last += 1;
                    }
                    // The lines shown, without the blank ones that end them.
                    let mut shown = last;
                    while shown > first && body[shown - 1].trim().is_empty() {
                        shown -= 1;
                    }
                    steps.push(Step::Console {
                        command: command.to_string(),
                        expected: body[first..shown].iter().map(|l| l.to_string()).collect(),
                        output: body_start + first..body_start + shown,
                    });
                    k = last;
                }
            }
            _ => {}
        }
        i = j + 1;
    }
    steps
}

/// What varies from run to run, by kind.
struct Patterns {
    variable: Regex,
}

impl Patterns {
    fn new() -> Patterns {
        Patterns {
            variable: Regex::new(concat!(
                r"(?P<token>dpt_[0-9a-f]{64})",
                r"|(?P<id>\b[a-z]{2,5}_[0-9A-HJKMNP-TV-Z]{26}\b)",
                r"|(?P<hash>\b[0-9a-f]{64}\b)",
                r"|(?P<time>\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z)",
                r"|(?P<httpdate>\b[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)",
                r"|(?P<length>(?i:content-length): \d+)",
            ))
            .expect("a valid pattern"),
        }
    }

    /// The literal text between variable parts, and each variable part with its kind.
    fn split<'a>(&self, text: &'a str) -> (Vec<&'a str>, Vec<(&'static str, &'a str)>) {
        let mut literals = Vec::new();
        let mut variables = Vec::new();
        let mut at = 0;
        for caps in self.variable.captures_iter(text) {
            let whole = caps.get(0).expect("a match");
            literals.push(&text[at..whole.start()]);
            let kind = ["token", "id", "hash", "time", "httpdate", "length"]
                .into_iter()
                .find(|k| caps.name(k).is_some())
                .expect("one kind matched");
            variables.push((kind, whole.as_str()));
            at = whole.end();
        }
        literals.push(&text[at..]);
        (literals, variables)
    }
}

/// Headers come in no fixed order, and `connection: close` now and then:
/// the header lines of a `curl -i` answer are compared sorted, without it.
fn normalise(lines: &[String]) -> String {
    if !lines.first().is_some_and(|l| l.starts_with("HTTP/")) {
        return lines.join("\n");
    }
    let blank = lines
        .iter()
        .position(|l| l.trim().is_empty())
        .unwrap_or(lines.len());
    let mut headers: Vec<&String> = lines[1..blank]
        .iter()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    headers.sort();
    let mut out = vec![lines[0].clone()];
    out.extend(headers.into_iter().cloned());
    out.extend(lines[blank..].iter().cloned());
    out.join("\n")
}

/// Matches what the README shows against what the run printed, extending the
/// README-id → run-id map; `Err` says where they part.
fn unify(
    patterns: &Patterns,
    shown: &str,
    printed: &str,
    map: &mut HashMap<String, String>,
) -> Result<(), String> {
    let (shown_literals, shown_vars) = patterns.split(shown);
    let (printed_literals, printed_vars) = patterns.split(printed);
    if shown_literals != printed_literals || shown_vars.len() != printed_vars.len() {
        return Err("the text differs".into());
    }
    for ((kind, ours), (printed_kind, theirs)) in shown_vars.iter().zip(&printed_vars) {
        if kind != printed_kind {
            return Err(format!("a {kind} where the run printed a {printed_kind}"));
        }
        if !matches!(*kind, "token" | "id" | "hash") {
            continue;
        }
        match map.get(*ours) {
            Some(mapped) if mapped != theirs => {
                return Err(format!(
                    "{ours} stands for {mapped} in the run, but here the run printed {theirs}"
                ))
            }
            Some(_) => {}
            None => {
                if let Some((other, _)) = map.iter().find(|(_, v)| v.as_str() == *theirs) {
                    return Err(format!(
                        "the run printed {theirs}, which the README calls {other}, where it shows {ours}"
                    ));
                }
                map.insert(ours.to_string(), theirs.to_string());
            }
        }
    }
    Ok(())
}

/// For rewriting: pairs the README's ids, tokens and hashes with the run's
/// in the order they appear, where the text around them no longer matches.
fn learn(patterns: &Patterns, shown: &str, printed: &str, map: &mut HashMap<String, String>) {
    let mappable = |text| {
        let (_, vars) = patterns.split(text);
        vars.into_iter()
            .filter(|(kind, _)| matches!(*kind, "token" | "id" | "hash"))
            .map(|(_, v)| v.to_string())
            .collect::<Vec<_>>()
    };
    for (ours, theirs) in mappable(shown).into_iter().zip(mappable(printed)) {
        map.entry(ours).or_insert(theirs);
    }
}

/// Replaces every README id, token and hash by the run's (longest first, so
/// none is replaced inside another).
fn apply(map: &HashMap<String, String>, text: &str) -> String {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out = text.to_string();
    for k in keys {
        out = out.replace(k.as_str(), &map[k]);
    }
    out
}

/// One bash for the whole tour, as in a terminal: exports carry over.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Shell {
    fn start(dir: &Path) -> Shell {
        let mut child = Command::new("bash")
            .arg("--noprofile")
            .arg("--norc")
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .env_remove("DEPOT_BIND")
            .env("DEPOT_BIN", DEPOT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("bash starts");
        let mut stdin = child.stdin.take().expect("bash's stdin");
        writeln!(stdin, "exec 2>&1").expect("bash takes input");
        let stdout = child.stdout.take().expect("bash's stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Shell {
            child,
            stdin,
            lines,
        }
    }

    /// Runs one command line; answers what it printed, without trailing blank lines.
    fn run(&mut self, command: &str) -> Vec<String> {
        writeln!(self.stdin, "{command}\nprintf '\\n{DONE}\\n'").expect("bash takes input");
        let mut printed = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("`{command}` finished within 60 s"));
            if line == DONE {
                break;
            }
            printed.push(line.trim_end_matches('\r').to_string());
        }
        while printed.last().is_some_and(|l| l.trim().is_empty()) {
            printed.pop();
        }
        printed
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `depot serve` as the README starts it, on a free port; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    token: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new(DEPOT)
            .arg("serve")
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .env_remove("DEPOT_POOL_SIZE")
            .env_remove("DEPOT_WORKERS")
            .env_remove("DEPOT_DATA_DIR")
            .env("DEPOT_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("depot starts");
        let (tx, rx) = mpsc::channel::<String>();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut server = Server {
            child,
            port: 0,
            token: String::new(),
        };
        let token = Regex::new(r"dpt_[0-9a-f]{64}").expect("a valid pattern");
        while server.port == 0 || server.token.is_empty() {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("depot prints its token and where it listens within 30 s");
            if let Some(found) = token.find(&line) {
                server.token = found.as_str().to_string();
            }
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                server.port = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("a port");
            }
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

#[test]
fn the_readme_tour_runs_as_written() {
    if !have("curl") || !have("jq") {
        eprintln!("skipped: the README tour needs curl and jq, and this machine lacks one");
        return;
    }
    let write = std::env::var("DEPOT_TOUR_WRITE").is_ok_and(|v| v == "1");
    let text = std::fs::read_to_string(readme_path()).expect("README.md");
    let readme: Vec<&str> = text.lines().collect();
    let range = tour_range(&readme);
    let steps = parse_steps(&readme, range.clone());
    assert!(
        steps
            .iter()
            .filter(|s| matches!(s, Step::Console { .. }))
            .count()
            > 20,
        "the tour has its commands"
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let server_dir = dir.path().join("server");
    let user_dir = dir.path().join("user");
    std::fs::create_dir_all(&server_dir).expect("a server directory");
    std::fs::create_dir_all(&user_dir).expect("a user directory");
    let patterns = Patterns::new();
    let mut map: HashMap<String, String> = HashMap::new();
    let mut server: Option<Server> = None;
    let mut shell = Shell::start(&user_dir);
    let mut failures = Vec::new();
    let mut rewritten: HashMap<usize, Vec<String>> = HashMap::new();

    for step in &steps {
        let port = server.as_ref().map_or(0, |s| s.port);
        let to_run = |command: &str, map: &HashMap<String, String>| {
            apply(map, command).replace(README_PORT, &format!("127.0.0.1:{port}"))
        };
        match step {
            Step::Serve => server = Some(Server::start(&server_dir)),
            Step::ServerSays(says) => {
                let server = server.as_ref().expect("the server was started first");
                let shown = patterns
                    .variable
                    .find(says)
                    .filter(|m| m.as_str().starts_with("dpt_"))
                    .expect("the README shows the first admin token");
                map.insert(shown.as_str().to_string(), server.token.clone());
            }
            Step::Shell(line) => {
                shell.run(&to_run(line, &map));
            }
            Step::Console {
                command,
                expected,
                output,
            } => {
                let printed: Vec<String> = shell
                    .run(&to_run(command, &map))
                    .into_iter()
                    .map(|l| l.replace(&format!("127.0.0.1:{port}"), README_PORT))
                    .collect();
                if write {
                    rewritten.insert(output.start, printed.clone());
                    // Learn the ids the README's later commands name, even
                    // where the text around them changed.
                    let (shown, run) = (normalise(expected), normalise(&printed));
                    if unify(&patterns, &shown, &run, &mut map).is_err() {
                        learn(&patterns, &shown, &run, &mut map);
                    }
                    continue;
                }
                if let Err(why) = unify(
                    &patterns,
                    &normalise(expected),
                    &normalise(&printed),
                    &mut map,
                ) {
                    failures.push(format!(
                        "$ {command}\n  README shows:\n    {}\n  the run printed:\n    {}\n  ({why})",
                        expected.join("\n    "),
                        printed.join("\n    ")
                    ));
                    if failures.len() >= 5 {
                        break;
                    }
                }
            }
        }
    }

    if write {
        let mut out: Vec<String> = Vec::new();
        let outputs: HashMap<usize, usize> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Console { output, .. } => Some((output.start, output.end)),
                _ => None,
            })
            .collect();
        let mut i = 0;
        while i < readme.len() {
            if range.contains(&i) {
                if let Some(printed) = rewritten.get(&i) {
                    out.extend(printed.iter().cloned());
                    // A command that printed nothing has an empty range here.
                    if outputs[&i] > i {
                        i = outputs[&i];
                        continue;
                    }
                }
                out.push(apply(&map, readme[i]));
            } else {
                out.push(readme[i].to_string());
            }
            i += 1;
        }
        std::fs::write(readme_path(), out.join("\n") + "\n").expect("README.md written");
        eprintln!("rewrote the tour's outputs in README.md");
        return;
    }
    assert!(
        failures.is_empty(),
        "the README tour does not run as written (DEPOT_TOUR_WRITE=1 rewrites it from a run):\n\n{}",
        failures.join("\n\n")
    );
}

#[cfg(test)]
mod unification {
    use super::*;

    #[test]
    fn the_same_readme_id_must_be_the_same_run_id() {
        let p = Patterns::new();
        let mut map = HashMap::new();
        let a = "mer_01M88TJ4ANFXZFEAYSE35GYXD0";
        let b = "mer_01M99TJ4ANFXZFEAYSE35GYXD1";
        let c = "mer_01M77TJ4ANFXZFEAYSE35GYXD2";
        assert!(unify(
            &p,
            &format!("{{\"id\":\"{a}\"}}"),
            &format!("{{\"id\":\"{b}\"}}"),
            &mut map
        )
        .is_ok());
        assert!(unify(&p, &format!("x {a}"), &format!("x {b}"), &mut map).is_ok());
        assert!(unify(&p, &format!("x {a}"), &format!("x {c}"), &mut map).is_err());
        assert!(unify(&p, "status 200", "status 201", &mut map).is_err());
        assert!(unify(
            &p,
            "at 2026-11-25T07:43:42.421191Z",
            "at 2026-12-02T01:02:03.4Z",
            &mut map
        )
        .is_ok());
    }
}

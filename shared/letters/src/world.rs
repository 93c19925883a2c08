//! The typst side: the fonts, the parsed `.typ` sources, and one small [`World`] per render
//! whose only varying file is `/input.json` (the letter's view).
//!
//! Everything expensive (font parsing, the font book, the standard library, parsing templates) is
//! done once in [`Typesetter::new`]; a render builds a [`LetterWorld`] that borrows it. Typst's
//! `comemo` cache then reuses the evaluated layout module between letters, so only what depends
//! on the data is laid out again. [`Typesetter::render`] evicts old cache entries every
//! [`EVICT_EVERY`] renders so that a long-running service keeps a bounded memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use restance_kernel::BusinessDate;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_pdf::{PdfOptions, Timestamp};

/// Renders between two cache evictions. Each letter leaves a few MB of layout results in typst's
/// cache that no other letter reuses, and an entry lives through up to two eviction windows
/// ([`EVICT_MAX_AGE`]). `just bench-letters` (10,000 letters, 2 threads): 256 renders between
/// evictions peaked at 1 GB; 16 at 125.9 MiB and 187 letters/s; 4 at 101.8 MiB and 228 letters/s
/// (same machine, back to back, 2026-12-04) — the shared template parts are used in every
/// window and stay, so evicting more often costs no speed. In `restance-notifications` on a
/// 10,000-invoice day (2,886 letters, 2,340 SMS) the peak went from 163 to 141 MiB.
pub const EVICT_EVERY: u64 = 4;
/// Cache entries not used since the previous eviction are dropped; the shared layout module and
/// fonts are used by every letter and stay.
const EVICT_MAX_AGE: usize = 1;

/// The virtual path of the letter's data inside the typst project.
pub const INPUT_PATH: &str = "/input.json";

/// Fonts, library and template sources, shared by every render (Send + Sync).
pub struct Typesetter {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    sources: HashMap<FileId, Source>,
    /// Virtual path → file id, so that a render does not take the global interner's write lock.
    paths: HashMap<String, FileId>,
    input: FileId,
    renders: AtomicU64,
}

impl std::fmt::Debug for Typesetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typesetter")
            .field("fonts", &self.fonts.len())
            .field("sources", &self.sources.len())
            .finish()
    }
}

/// A finished PDF.
pub struct Typeset {
    /// The PDF file.
    pub bytes: Vec<u8>,
    /// Its number of pages.
    pub pages: usize,
}

/// The virtual file id of a path like `/da/reminder_1.typ`.
pub fn file_id(path: &str) -> Result<FileId, String> {
    let vpath = VirtualPath::new(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl Typesetter {
    /// Loads the bundled fonts once and takes the template sources (`virtual path → text`).
    pub fn new(sources: Vec<(String, String)>) -> Result<Typesetter, Vec<String>> {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        let book = FontBook::from_fonts(&fonts);
        let mut problems = Vec::new();
        let mut by_id = HashMap::new();
        let mut paths = HashMap::new();
        for (path, text) in sources {
            match file_id(&path) {
                Ok(id) => {
                    by_id.insert(id, Source::new(id, text));
                    paths.insert(path, id);
                }
                Err(e) => problems.push(e),
            }
        }
        let input = file_id(INPUT_PATH).map_err(|e| vec![e])?;
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Typesetter {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(book),
            fonts,
            sources: by_id,
            paths,
            input,
            renders: AtomicU64::new(0),
        })
    }

    /// Whether a source exists at this virtual path.
    pub fn has_source(&self, path: &str) -> bool {
        self.paths.contains_key(path)
    }

    /// Compiles `main` (a virtual path) with `input` as `/input.json` and exports an A4 PDF.
    /// `reference` makes the PDF's document id; `date` is typst's "today" and the PDF date.
    pub fn render(
        &self,
        main: &str,
        input: Vec<u8>,
        date: BusinessDate,
        reference: &str,
    ) -> Result<Typeset, String> {
        let main = *self
            .paths
            .get(main)
            .ok_or_else(|| format!("{main} is not a loaded template"))?;
        let today = u8::try_from(date.month())
            .ok()
            .zip(u8::try_from(date.day()).ok())
            .and_then(|(m, d)| Datetime::from_ymd(date.year(), m, d));
        let world = LetterWorld {
            typesetter: self,
            main,
            input: Bytes::new(input),
            today,
        };
        let result = typst::compile(&world).output;
        let document = result.map_err(|errors| describe(&world, &errors))?;
        let options = PdfOptions {
            ident: Smart::Custom(reference.to_owned()),
            timestamp: today.map(Timestamp::new_utc),
            ..PdfOptions::default()
        };
        let bytes =
            typst_pdf::pdf(&document, &options).map_err(|errors| describe(&world, &errors))?;
        let pages = document.pages().len();
        let done = self.renders.fetch_add(1, Ordering::Relaxed) + 1;
        if done.is_multiple_of(EVICT_EVERY) {
            typst::comemo::evict(EVICT_MAX_AGE);
        }
        Ok(Typeset { bytes, pages })
    }

    /// Drops typst's cached results: every entry with `max_age` 0, or those not used since the
    /// last `max_age` evictions. [`crate::Renderer::load`] calls it while it renders the samples
    /// (13 templates × 4 languages share little) and with 0 after them, so a service does not
    /// keep the samples' layouts resident until its first letters push them out.
    pub fn evict(max_age: usize) {
        typst::comemo::evict(max_age);
    }
}

/// Typst's errors as one line each, with the template file and line where known.
fn describe(world: &LetterWorld<'_>, errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| {
            let place = e
                .span
                .id()
                .and_then(|id| {
                    let source = world.source(id).ok()?;
                    let range = world.range(e.span)?;
                    let line = source.lines().byte_to_line(range.start)? + 1;
                    Some(format!("{}:{line}: ", id.vpath().get_without_slash()))
                })
                .unwrap_or_default();
            let mut line = format!("{place}{}", e.message);
            for hint in &e.hints {
                line.push_str(&format!(" (hint: {})", hint.v));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One letter's view of the typst project.
struct LetterWorld<'a> {
    typesetter: &'a Typesetter,
    main: FileId,
    input: Bytes,
    today: Option<Datetime>,
}

impl World for LetterWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.typesetter.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.typesetter.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.typesetter
            .sources
            .get(&id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.typesetter.input {
            return Ok(self.input.clone());
        }
        self.typesetter
            .sources
            .get(&id)
            .map(|s| Bytes::from_string(s.clone()))
            .ok_or_else(|| not_found(id))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.typesetter.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(std::path::PathBuf::from(id.vpath().get_with_slash()))
}

//! `list_images`: filtered pages, newest first.
//!
//! Candidates come, in id-descending order, from the cheapest source the exact tag counts
//! point to: the membership items of the rarest `all_tags` tag, or the merged membership items
//! of the `any_tags` tags, or (no positive tag) the image items themselves. Every candidate is
//! then checked against the whole query on its image item, which is the source of truth.

use std::collections::{BTreeSet, VecDeque};

use imgtag_core::{Cursor, Image, ImageId, ImageQuery, Owner, Page, Result, TagName};

use super::read::Range;
use super::schema::{self, get_n, get_s, id_suffix, member_prefix, parse_image, Item, CONF};
use super::DynamoCatalog;

/// The whole query, on one image.
fn matches(img: &Image, q: &ImageQuery) -> bool {
    let strong = |t: &TagName| {
        img.labels
            .iter()
            .any(|l| &l.name == t && q.min_confidence.is_none_or(|m| l.confidence >= m))
    };
    let has = |t: &TagName| img.labels.iter().any(|l| &l.name == t);
    q.after.as_ref().is_none_or(|Cursor(a)| img.id < *a)
        && q.all_tags.iter().all(strong)
        && (q.any_tags.is_empty() || q.any_tags.iter().any(strong))
        && !q.not_tags.iter().any(has)
}

/// Sort keys from `prefix` down to (and including) `prefix<after>`; the cursor id itself is
/// dropped by `matches`.
fn below(prefix: String, after: Option<&Cursor>) -> Range {
    match after {
        Some(Cursor(id)) => {
            let hi = format!("{prefix}{id}");
            Range::Between(prefix, hi)
        }
        None => Range::Prefix(prefix),
    }
}

/// Membership items of one tag, newest first, buffered a page at a time.
struct TagStream {
    range: Range,
    buf: VecDeque<ImageId>,
    start: Option<Item>,
    done: bool,
}

enum Source {
    Images {
        range: Range,
        start: Option<Item>,
        done: bool,
    },
    Tags(Vec<TagStream>),
}

impl DynamoCatalog {
    pub(super) async fn list(&self, owner: &Owner, q: &ImageQuery) -> Result<Page> {
        q.check()?;
        let want = q.limit + 1; // one more than asked says whether a next page exists
        let mut out = Vec::new();
        if let Some(mut src) = self.source(owner, q).await? {
            while out.len() < want {
                // Filters drop candidates, so read a little ahead when there are any.
                let need = want - out.len();
                let filtered =
                    !(q.all_tags.is_empty() && q.any_tags.is_empty() && q.not_tags.is_empty());
                let page = if filtered {
                    (need * 2).clamp(50, 1000)
                } else {
                    need
                };
                let Some(batch) = self.candidates(owner, q, &mut src, page).await? else {
                    break;
                };
                out.extend(batch.into_iter().filter(|i| matches(i, q)));
            }
        }
        let more = out.len() > q.limit;
        out.truncate(q.limit);
        let next = match out.last() {
            Some(last) if more => Some(Cursor(last.id.clone())),
            _ => None,
        };
        Ok(Page { images: out, next })
    }

    /// Where candidates come from; `None` when the counts already prove nothing matches.
    async fn source(&self, owner: &Owner, q: &ImageQuery) -> Result<Option<Source>> {
        let after = q.after.as_ref();
        if q.all_tags.is_empty() && q.any_tags.is_empty() {
            let range = below("I#".to_string(), after);
            return Ok(Some(Source::Images {
                range,
                start: None,
                done: false,
            }));
        }
        let named: BTreeSet<&TagName> = q.all_tags.iter().chain(&q.any_tags).collect();
        let counts = self
            .read_counts(owner, &named.into_iter().collect::<Vec<_>>())
            .await?;
        let count = |t: &TagName| counts.get(t.as_str()).copied().unwrap_or(0);
        let rarest_all = q.all_tags.iter().min_by_key(|t| count(t));
        if rarest_all.is_some_and(|t| count(t) == 0) {
            return Ok(None);
        }
        let any: Vec<&TagName> = q.any_tags.iter().filter(|t| count(t) > 0).collect();
        if !q.any_tags.is_empty() && any.is_empty() {
            return Ok(None);
        }
        let any_total: u64 = any.iter().map(|t| count(t)).sum();
        let tags = match rarest_all {
            Some(t) if any.is_empty() || count(t) <= any_total => vec![t],
            _ => any,
        };
        let streams = tags
            .into_iter()
            .map(|t| TagStream {
                range: below(member_prefix(t), after),
                buf: VecDeque::new(),
                start: None,
                done: false,
            })
            .collect();
        Ok(Some(Source::Tags(streams)))
    }

    /// The next candidates (about `page`), newest first; `None` once the source is exhausted.
    async fn candidates(
        &self,
        owner: &Owner,
        q: &ImageQuery,
        src: &mut Source,
        page: usize,
    ) -> Result<Option<Vec<Image>>> {
        match src {
            Source::Images { range, start, done } => {
                if *done {
                    return Ok(None);
                }
                let (items, next) = self
                    .query_page(owner, range, true, Some(page), start.take())
                    .await?;
                *done = next.is_none();
                *start = next;
                let images = items
                    .iter()
                    .map(|i| parse_image(i).map(|s| s.image))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some(images))
            }
            Source::Tags(streams) => {
                let ids = self.merged(owner, q, streams, page).await?;
                if ids.is_empty() {
                    return Ok(None);
                }
                self.images(owner, &ids).await.map(Some)
            }
        }
    }

    /// Up to `page` distinct ids from the union of `streams`, newest first.
    async fn merged(
        &self,
        owner: &Owner,
        q: &ImageQuery,
        streams: &mut [TagStream],
        page: usize,
    ) -> Result<Vec<ImageId>> {
        let mut out = Vec::new();
        while out.len() < page {
            // Every stream that can still yield shows its head, so the largest head is the
            // next id overall.
            for st in streams.iter_mut() {
                while st.buf.is_empty() && !st.done {
                    self.fill(owner, q, st, page).await?;
                }
            }
            let Some(top) = streams.iter().filter_map(|s| s.buf.front()).max().cloned() else {
                break;
            };
            for st in streams.iter_mut() {
                if st.buf.front() == Some(&top) {
                    st.buf.pop_front();
                }
            }
            out.push(top);
        }
        Ok(out)
    }

    async fn fill(
        &self,
        owner: &Owner,
        q: &ImageQuery,
        st: &mut TagStream,
        page: usize,
    ) -> Result<()> {
        let (items, next) = self
            .query_page(owner, &st.range, true, Some(page), st.start.take())
            .await?;
        st.done = next.is_none();
        st.start = next;
        for item in &items {
            let id = id_suffix(get_s(item, schema::SK)?)?;
            let c: f32 = get_n(item, CONF)?;
            let after_ok = q.after.as_ref().is_none_or(|Cursor(a)| id < *a);
            if after_ok && q.min_confidence.is_none_or(|m| c >= m) {
                st.buf.push_back(id);
            }
        }
        Ok(())
    }
}

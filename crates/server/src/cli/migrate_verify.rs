//! The check at the end of `imgtag migrate`: per owner, the number of images and every tag's
//! image count are the same on both sides.

use imgtag_core::{Catalog, ImageQuery, Owner, TagCount};

use super::migrate_open::Adapters;

/// Tags compared per owner: more than any owner is expected to have.
const MAX_TAGS: usize = 1_000_000;

/// Differences, one line each; empty when both sides agree.
pub async fn verify(
    src: &Adapters,
    dst: &Adapters,
    owners: &[Owner],
) -> anyhow::Result<Vec<String>> {
    let mut diffs = Vec::new();
    for owner in owners {
        let (a, b) = (
            count_images(&*src.catalog, owner).await?,
            count_images(&*dst.catalog, owner).await?,
        );
        if a != b {
            diffs.push(format!(
                "{owner}: {a} image(s) at the source, {b} at the destination"
            ));
        }
        let a = src.catalog.tag_counts(owner, None, MAX_TAGS).await?;
        let b = dst.catalog.tag_counts(owner, None, MAX_TAGS).await?;
        diffs.extend(tag_diffs(owner, &a, &b));
    }
    Ok(diffs)
}

async fn count_images(c: &dyn Catalog, owner: &Owner) -> anyhow::Result<u64> {
    let (mut n, mut after) = (0, None);
    loop {
        let q = ImageQuery {
            limit: 1000,
            after,
            ..Default::default()
        };
        let page = c.list_images(owner, &q).await?;
        n += page.images.len() as u64;
        match page.next {
            Some(cur) => after = Some(cur),
            None => return Ok(n),
        }
    }
}

fn tag_diffs(owner: &Owner, src: &[TagCount], dst: &[TagCount]) -> Vec<String> {
    use std::collections::BTreeMap;
    let map = |v: &[TagCount]| -> BTreeMap<String, u64> {
        v.iter().map(|t| (t.name.to_string(), t.count)).collect()
    };
    let (a, b) = (map(src), map(dst));
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|n| {
            let (x, y) = (
                a.get(n).copied().unwrap_or(0),
                b.get(n).copied().unwrap_or(0),
            );
            (x != y).then(|| {
                format!("{owner}: tag {n:?} on {x} image(s) at the source, {y} at the destination")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(n: &str, c: u64) -> TagCount {
        TagCount {
            name: imgtag_core::TagName::parse(n).unwrap(),
            count: c,
        }
    }

    #[test]
    fn tag_differences_name_both_sides() {
        let o = Owner::parse("ann").unwrap();
        let d = tag_diffs(
            &o,
            &[tc("cat", 3), tc("dog", 1)],
            &[tc("cat", 2), tc("owl", 1)],
        );
        assert_eq!(
            d,
            [
                "ann: tag \"cat\" on 3 image(s) at the source, 2 at the destination",
                "ann: tag \"dog\" on 1 image(s) at the source, 0 at the destination",
                "ann: tag \"owl\" on 0 image(s) at the source, 1 at the destination",
            ]
        );
        assert!(tag_diffs(&o, &[tc("cat", 1)], &[tc("cat", 1)]).is_empty());
    }
}

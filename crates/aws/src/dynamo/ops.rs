//! Transaction actions with their condition expressions.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use imgtag_core::{Owner, Result};

use super::errors::build;
use super::schema::{n, s, Item, COUNT, PK, VER};
use super::DynamoCatalog;

/// A condition's expression, attribute names and attribute values, as the builders take them.
type Parts = (
    Option<String>,
    Option<HashMap<String, String>>,
    Option<HashMap<String, AttributeValue>>,
);

/// A condition expression with its placeholders.
pub(super) struct Cond {
    expr: &'static str,
    names: Vec<(&'static str, &'static str)>,
    values: Vec<(&'static str, AttributeValue)>,
}

impl Cond {
    /// The image item is still at the version the write was planned from.
    pub(super) fn version(ver: u64) -> Self {
        Cond {
            expr: "#v = :v",
            names: vec![("#v", VER)],
            values: vec![(":v", n(ver))],
        }
    }

    /// Nothing is stored under the key yet.
    pub(super) fn absent() -> Self {
        Cond {
            expr: "attribute_not_exists(#pk)",
            names: vec![("#pk", PK)],
            values: vec![],
        }
    }

    /// The id is free, or already held by `owner`.
    pub(super) fn claim(owner: &Owner) -> Self {
        Cond {
            expr: "attribute_not_exists(#pk) OR #o = :o",
            names: vec![("#pk", PK), ("#o", "owner")],
            values: vec![(":o", s(owner.as_str()))],
        }
    }

    /// A tag count is exactly 1 (so it may be deleted rather than reach 0).
    pub(super) fn count_is_one() -> Self {
        Cond {
            expr: "#n = :one",
            names: vec![("#n", COUNT)],
            values: vec![(":one", n(1))],
        }
    }

    fn parts(cond: Option<Cond>) -> Parts {
        let Some(c) = cond else {
            return (None, None, None);
        };
        let names = c.names.into_iter().map(|(k, v)| (k.into(), v.into()));
        let values = c.values.into_iter().map(|(k, v)| (k.into(), v));
        let values: HashMap<_, _> = values.collect();
        (
            Some(c.expr.to_string()),
            Some(names.collect()),
            (!values.is_empty()).then_some(values),
        )
    }
}

impl DynamoCatalog {
    pub(super) fn put(&self, item: Item, cond: Option<Cond>) -> Result<TransactWriteItem> {
        let (expr, names, values) = Cond::parts(cond);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(expr)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn delete(&self, key: Item, cond: Option<Cond>) -> Result<TransactWriteItem> {
        let (expr, names, values) = Cond::parts(cond);
        let del = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(expr)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }
}

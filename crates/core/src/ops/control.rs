//! Control-flow operators. Their bodies are graphs, so the engine analyses
//! them itself ([`crate::control`]); this table registers them so that they
//! are known operators with documented costs and input roles.

use super::{NodeCtx, OpDef, OpError, Role, RuleResult};

/// Never called for a node with its bodies: the engine runs control flow.
/// A node without bodies is inconsistent.
fn engine_only(ctx: &mut NodeCtx) -> RuleResult {
    Err(OpError::Invalid(format!(
        "{} without its graph attributes",
        ctx.node.op_type
    )))
}

pub static OPS: &[OpDef] = &[
    OpDef {
        op_type: "If",
        domain: "",
        rule: engine_only,
        roles: &[Role::Config],
        cost_doc:
            "the taken branch when the condition is known, else the larger branch (both shown)",
    },
    OpDef {
        op_type: "Loop",
        domain: "",
        rule: engine_only,
        roles: &[Role::Config, Role::Config],
        cost_doc: "body × trip count M (a symbol named after the node when M is unknown)",
    },
    OpDef {
        op_type: "Scan",
        domain: "",
        rule: engine_only,
        roles: &[],
        cost_doc: "body × length of the scanned axis",
    },
    OpDef {
        op_type: "SequenceMap",
        domain: "",
        rule: engine_only,
        roles: &[],
        cost_doc:
            "body × number of elements of input_sequence (a symbol named after the node when \
                   unknown); elements of different shapes are counted by their own body cost",
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn control_flow_ops_are_registered_once() {
        for def in super::OPS {
            let n = crate::ops::all_ops()
                .filter(|d| d.op_type == def.op_type && d.domain == def.domain)
                .count();
            assert_eq!(n, 1, "{} is registered {n} times", def.op_type);
            assert!(crate::ops::lookup("ai.onnx", def.op_type).is_some());
        }
    }
}

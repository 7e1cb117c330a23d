//! What a grouped report adds up (`--by-op`, `--depth N`): from a whole
//! report's lines, or a line at a time as a streamed report is made, so
//! that a grouped table, CSV or JSON report of a million nodes holds a
//! subtotal per group instead of a line per node.

use nncost_core::report::{ModuleGroup, ModuleSums, NodeReport, OpGroup, OpSums};

/// Subtotals by operator and by module at one depth, each when asked for,
/// added up a line at a time.
pub(crate) struct GroupSums {
    ops: Option<OpSums>,
    modules: Option<ModuleSums>,
}

/// The subtotals of every top-level node.
pub(crate) struct Groups {
    pub ops: Option<Vec<OpGroup>>,
    /// The depth and its modules.
    pub modules: Option<(usize, Vec<ModuleGroup>)>,
}

impl GroupSums {
    /// Subtotals by operator if `by_op`, by module at `depth` if given.
    pub(crate) fn new(by_op: bool, depth: Option<usize>) -> GroupSums {
        GroupSums {
            ops: by_op.then(OpSums::default),
            modules: depth.map(ModuleSums::new),
        }
    }

    /// The subtotals a table or CSV shows (see `table::rows`): by module
    /// when a depth is given, else by operator.
    pub(crate) fn for_rows(by_op: bool, depth: Option<usize>) -> GroupSums {
        GroupSums::new(by_op && depth.is_none(), depth)
    }

    pub(crate) fn add(&mut self, n: &NodeReport) {
        if let Some(ops) = &mut self.ops {
            ops.add(n);
        }
        if let Some(modules) = &mut self.modules {
            modules.add(n);
        }
    }

    /// The same sums over `nodes`, all at once.
    pub(crate) fn over(mut self, nodes: &[NodeReport]) -> Groups {
        nodes.iter().for_each(|n| self.add(n));
        self.finish()
    }

    pub(crate) fn finish(self) -> Groups {
        Groups {
            ops: self.ops.map(OpSums::finish),
            modules: self.modules.map(|m| (m.depth(), m.finish())),
        }
    }
}

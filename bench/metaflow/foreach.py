"""Benchmark shape (b): a foreach over --count items (default 100), then a join.

With --payload N (MiB, default 0) `start` sets an N MiB bytes artifact and every
foreach task reads it. With --inherit-mib N (MiB, default 0) `start` also sets an N MiB
bytes artifact that no later step names: every task inherits it unchanged. Twin of
bench/flows/src/foreach.rs.
"""
import os

from metaflow import FlowSpec, Parameter, step


class BenchForeachFlow(FlowSpec):
    count = Parameter("count", help="number of foreach items", default=100, type=int)
    payload = Parameter("payload", help="MiB of random bytes set in start and read in every item", default=0, type=int)
    inherit_mib = Parameter(
        "inherit-mib", help="MiB of random bytes set in start that no later step names", default=0, type=int
    )

    @step
    def start(self):
        self.blob = os.urandom(self.payload * 1024 * 1024)
        self.inherited = os.urandom(self.inherit_mib * 1024 * 1024)
        self.elems = list(range(self.count))
        self.next(self.body, foreach="elems")

    @step
    def body(self):
        assert len(self.blob) == self.payload * 1024 * 1024
        self.value = self.input * 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.value for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        assert self.total == self.count * (self.count - 1)


if __name__ == "__main__":
    BenchForeachFlow()

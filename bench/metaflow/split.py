"""Benchmark shape (c): a static split into 10 branches, then a join.

With --payload N (MiB, default 0) `start` sets an N MiB bytes artifact and every
branch reads it. Twin of bench/flows/src/split.rs.
"""
import os

from metaflow import FlowSpec, Parameter, step


class BenchSplitFlow(FlowSpec):
    payload = Parameter("payload", help="MiB of random bytes set in start and read in every branch", default=0, type=int)

    @step
    def start(self):
        self.blob = os.urandom(self.payload * 1024 * 1024)
        self.next(self.b0, self.b1, self.b2, self.b3, self.b4, self.b5, self.b6, self.b7, self.b8, self.b9)

    def _branch(self, value):
        assert len(self.blob) == self.payload * 1024 * 1024
        self.value = value

    @step
    def b0(self):
        self._branch(0)
        self.next(self.join)

    @step
    def b1(self):
        self._branch(1)
        self.next(self.join)

    @step
    def b2(self):
        self._branch(2)
        self.next(self.join)

    @step
    def b3(self):
        self._branch(3)
        self.next(self.join)

    @step
    def b4(self):
        self._branch(4)
        self.next(self.join)

    @step
    def b5(self):
        self._branch(5)
        self.next(self.join)

    @step
    def b6(self):
        self._branch(6)
        self.next(self.join)

    @step
    def b7(self):
        self._branch(7)
        self.next(self.join)

    @step
    def b8(self):
        self._branch(8)
        self.next(self.join)

    @step
    def b9(self):
        self._branch(9)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.value for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        assert self.total == 45


if __name__ == "__main__":
    BenchSplitFlow()

"""Benchmark shape (a): a 10-step linear flow with trivial bodies.

With --payload N (MiB, default 0) `start` sets an N MiB bytes artifact and every
later step reads it. Twin of bench/flows/src/linear.rs.
"""
import os

from metaflow import FlowSpec, Parameter, step


class BenchLinearFlow(FlowSpec):
    payload = Parameter("payload", help="MiB of random bytes set in start and read in every step", default=0, type=int)

    @step
    def start(self):
        self.blob = os.urandom(self.payload * 1024 * 1024)
        self.count = 1
        self.next(self.s1)

    def _touch(self):
        assert len(self.blob) == self.payload * 1024 * 1024
        self.count += 1

    @step
    def s1(self):
        self._touch()
        self.next(self.s2)

    @step
    def s2(self):
        self._touch()
        self.next(self.s3)

    @step
    def s3(self):
        self._touch()
        self.next(self.s4)

    @step
    def s4(self):
        self._touch()
        self.next(self.s5)

    @step
    def s5(self):
        self._touch()
        self.next(self.s6)

    @step
    def s6(self):
        self._touch()
        self.next(self.s7)

    @step
    def s7(self):
        self._touch()
        self.next(self.s8)

    @step
    def s8(self):
        self._touch()
        self.next(self.end)

    @step
    def end(self):
        self._touch()
        assert self.count == 10


if __name__ == "__main__":
    BenchLinearFlow()

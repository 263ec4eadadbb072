import math


def area(r):
    """Area of a circle."""
    return math.pi * r * r


class Shape:
    def __init__(self, name):
        self.name = name

    def describe(self):
        return f'Shape {self.name}'

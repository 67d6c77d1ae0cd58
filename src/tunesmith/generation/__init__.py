"""Generation: the Controls a user gives, and sampling from a trained run."""

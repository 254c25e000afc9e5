"""Parameters: the schema every recipe field is declared in, the distributions a field can take, balance
targets, and the per-randomizer random streams."""

"""`trialguard convert VALUE UNIT --to UNIT [--analyte NAME]`: one conversion, with the factor that made it."""

from __future__ import annotations

import typer

from labs.errors import UnitError


def register(app: typer.Typer) -> None:
    @app.command()
    def convert(
        value: str = typer.Argument(..., help="the number, e.g. 1.2 or 90,000"),
        unit: str = typer.Argument(..., help="its unit as written, e.g. mg/dL, x10^9/L, µmol/L"),
        to: str = typer.Option(..., "--to", help="target unit"),
        analyte: str | None = typer.Option(
            None, "--analyte", "-a", help="analyte name or synonym (needed for molar, mEq and HbA1c conversions)"
        ),
    ) -> None:
        """Convert a lab value between units and show the factor (and molar mass / valence / formula) used."""
        import labs
        from labs.units import display_unit

        number, embedded_unit = labs.parse_quantity(value)
        if embedded_unit is not None:
            raise UnitError(f"VALUE {value!r} already contains a unit; pass the number and the unit separately")
        entry = labs.analyte(analyte) if analyte else None
        plan = labs.conversion_for(unit, to, entry)
        result = labs.convert(number, unit, to, entry)
        how = "; ".join(plan.steps)
        who = f"{entry.code} ({entry.name}): " if entry else ""
        typer.echo(f"{number:g} {display_unit(plan.from_unit)} = {result:.6g} {display_unit(plan.to_unit)}")
        typer.echo(f"{who}factor {plan.describe()}" + (f"  [{how}]" if how else ""))

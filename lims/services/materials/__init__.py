"""Equipment and reagent lots: the registers (each change a ledger entry), their codes, and
what touched which unit (the recall look-ups).

- ``registry``: find an item or a lot by its scanned code or id; the next code of each.
- ``uses``: the checks a processing step or QC result makes before it uses an item or a lot
  (refusals name the item and the date), and the ``material_uses`` rows it writes.
- ``equipment``: the equipment register — items, calibrations, maintenance, status.
- ``reagents``: reagent lots — receipt, QA's signed acceptance, stock, the recall look-up.
- ``warnings``: calibration and maintenance due soon or overdue, and lots run out or expired
  (the scheduled checks emit each warning once).
"""

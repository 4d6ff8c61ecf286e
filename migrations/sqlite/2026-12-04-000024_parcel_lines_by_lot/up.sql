-- A lot's parcel lines in parcel order, with their quantities: a forward
-- trace's page of parcels reads only the page (an index range from the
-- cursor on), and the grouped reads of a lot need not visit the table.
DROP INDEX parcel_lines_lot;
CREATE INDEX parcel_lines_lot ON parcel_lines (lot_id, parcel_id, qty);

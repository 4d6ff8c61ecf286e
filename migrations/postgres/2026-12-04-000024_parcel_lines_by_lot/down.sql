DROP INDEX parcel_lines_lot;
CREATE INDEX parcel_lines_lot ON parcel_lines (lot_id);

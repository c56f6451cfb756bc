-- Where in the image a label was found (detector labels such as `face`): a JSON array of
-- {"x","y","w","h"} fractions of the image, origin top left; NULL for whole-image labels.
ALTER TABLE labels ADD COLUMN boxes jsonb;

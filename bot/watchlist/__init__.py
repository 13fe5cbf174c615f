"""Members' watch lists: talks saved to watch later, marked watched, exported as a calendar, and more like them."""

package handlers

// jsonContentType is the Content-Type of every JSON answer, as Gin's c.JSON sends it.
const jsonContentType = "application/json; charset=utf-8"

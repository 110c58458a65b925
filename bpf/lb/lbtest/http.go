package lbtest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// TCP clients and backends speak HTTP/1.0, so that one client serves the
// load balancer's own backends (Netns.ServeTCP) and real web servers alike
// (busybox httpd in the agent's pods, whose page is the pod's host name).

const getRequest = "GET / HTTP/1.0\r\n\r\n"

// get sends one GET on conn and returns the response's body, white space
// trimmed; a status other than 200 is an error.
func get(conn io.ReadWriter) (string, error) {
	if _, err := io.WriteString(conn, getRequest); err != nil {
		return "", err
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET: %s", res.Status)
	}
	return strings.TrimSpace(string(body)), nil
}

// answerGETs answers every request read from conn with name as the body,
// until the client closes: the response carries its length, so the client
// reads it and closes first, leaving TIME_WAIT with the client's port.
func answerGETs(conn io.ReadWriter, name string) {
	body := name + "\n"
	res := fmt.Sprintf("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	r := bufio.NewReader(conn)
	for {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		req.Body.Close()
		if _, err := io.WriteString(conn, res); err != nil {
			return
		}
	}
}

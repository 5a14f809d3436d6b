import urllib, urllib.request

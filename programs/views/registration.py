from django.http import Http404, HttpRequest, HttpResponse


def register(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404
